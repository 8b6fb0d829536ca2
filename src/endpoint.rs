//! [`Endpoint`]: where a server listens, in the forms Windows HTTP.sys binds certificates to.
//!
//! ```text
//! 0.0.0.0:443             any IPv4 address not bound otherwise
//! [::]:443                any IPv6 address not bound otherwise
//! 192.0.2.10:443          one IPv4 address
//! [2001:db8::1]:443       one IPv6 address
//! www.example.com:443     TLS SNI host name (RFC 6066 §3), case-insensitive
//! *.example.com:443       any one-label subdomain, when no exact host binding matches
//! ```
//!
//! `0.0.0.0` and `[::]` are two separate wildcards, as in HTTP.sys: a connection to an IPv4
//! address falls back to `0.0.0.0:port`, one to an IPv6 address to `[::]:port`. An IPv4-mapped
//! IPv6 address (`[::ffff:192.0.2.10]`) is the IPv4 address, both when parsing and when
//! resolving. Host names are stored in lower case.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use crate::error::{EndpointError, Error, Result};
use crate::hostname;

/// Where a server listens: an address and port, or a TLS SNI host name and port.
///
/// Parse one with [`str::parse`]; [`Display`](fmt::Display) gives the canonical form back
/// (lower-case host, compressed IPv6 in brackets), which is also how bindings are stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    target: Target,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Target {
    Any { ipv6: bool },
    Address(IpAddr),
    Host(String),
}

impl Endpoint {
    /// `0.0.0.0:port` (`ipv6 == false`) or `[::]:port`: any address of that family that has no
    /// binding of its own.
    pub fn any(ipv6: bool, port: u16) -> Result<Self> {
        check_port(
            port,
            &format!("{}:{port}", if ipv6 { "[::]" } else { "0.0.0.0" }),
        )?;
        Ok(Self {
            target: Target::Any { ipv6 },
            port,
        })
    }

    /// One local address. The unspecified address (`0.0.0.0`, `::`) gives [`Endpoint::any`].
    pub fn address(ip: IpAddr, port: u16) -> Result<Self> {
        let ip = canonical_ip(ip);
        check_port(port, &format!("{ip}:{port}"))?;
        let target = if ip.is_unspecified() {
            Target::Any { ipv6: ip.is_ipv6() }
        } else {
            Target::Address(ip)
        };
        Ok(Self { target, port })
    }

    /// A TLS SNI host name (or a `*.` wildcard over one label), stored in lower case.
    pub fn host(name: &str, port: u16) -> Result<Self> {
        let input = format!("{name}:{port}");
        hostname::check_host_name(name, true).map_err(|reason| EndpointError::Syntax {
            input: input.clone(),
            reason,
        })?;
        check_port(port, &input)?;
        Ok(Self {
            target: Target::Host(name.to_ascii_lowercase()),
            port,
        })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host name of a host-name endpoint (lower case).
    pub fn host_name(&self) -> Option<&str> {
        match &self.target {
            Target::Host(h) => Some(h),
            _ => None,
        }
    }

    /// The address of an address endpoint; the unspecified address for a wildcard.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.target {
            Target::Any { ipv6: false } => Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            Target::Any { ipv6: true } => Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
            Target::Address(ip) => Some(ip),
            Target::Host(_) => None,
        }
    }

    /// Whether this is `0.0.0.0:port` or `[::]:port`.
    pub fn is_any_address(&self) -> bool {
        matches!(self.target, Target::Any { .. })
    }

    /// The endpoints to try, most specific first, for a connection to `local_ip:port` that
    /// asked for `sni`: the exact host, the wildcard over its first label, the address, then
    /// the any-address of its family. Invalid SNI names are skipped (no host binding matches).
    pub(crate) fn candidates(local_ip: IpAddr, port: u16, sni: Option<&str>) -> Vec<Endpoint> {
        let mut out = Vec::with_capacity(4);
        if port == 0 {
            return out;
        }
        if let Some(sni) = sni
            && let Ok(exact) = Endpoint::host(sni, port)
            && !exact.host_name().is_some_and(|h| h.starts_with("*."))
        {
            if let Some((_, parent)) = exact.host_name().and_then(|h| h.split_once('.'))
                && let Ok(wild) = Endpoint::host(&format!("*.{parent}"), port)
            {
                out.push(exact);
                out.push(wild);
            } else {
                out.push(exact);
            }
        }
        let ip = canonical_ip(local_ip);
        if !ip.is_unspecified() {
            out.push(Endpoint {
                target: Target::Address(ip),
                port,
            });
        }
        out.push(Endpoint {
            target: Target::Any { ipv6: ip.is_ipv6() },
            port,
        });
        out
    }
}

/// The socket address a server listens on as an endpoint: [`Endpoint::address`], so
/// `0.0.0.0:443` and `[::]:443` are the any-addresses and an IPv4-mapped address is IPv4.
/// Port 0 (any free port, which no connection arrives on) is [`EndpointError::PortZero`].
impl TryFrom<SocketAddr> for Endpoint {
    type Error = Error;

    fn try_from(address: SocketAddr) -> Result<Self> {
        Endpoint::address(address.ip(), address.port())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Any { ipv6: false } => write!(f, "0.0.0.0:{}", self.port),
            Target::Any { ipv6: true } => write!(f, "[::]:{}", self.port),
            Target::Address(IpAddr::V4(ip)) => write!(f, "{ip}:{}", self.port),
            Target::Address(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            Target::Host(h) => write!(f, "{h}:{}", self.port),
        }
    }
}

impl FromStr for Endpoint {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        let syntax = |reason: &str| EndpointError::Syntax {
            input: input.escape_debug().to_string(),
            reason: reason.to_owned(),
        };
        let (host, port) = if let Some(rest) = input.strip_prefix('[') {
            let (addr, port) = rest
                .split_once("]:")
                .ok_or_else(|| syntax("an IPv6 address is written `[address]:port`"))?;
            (addr, port)
        } else {
            let (host, port) = input
                .rsplit_once(':')
                .ok_or_else(|| syntax("the port is missing: write `host:port`"))?;
            if host.contains(':') {
                return Err(
                    syntax("write an IPv6 address in brackets: `[2001:db8::1]:443`").into(),
                );
            }
            (host, port)
        };
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax("the port must be a decimal number from 1 to 65535").into());
        }
        let port: u16 = port
            .parse()
            .map_err(|_| syntax("the port must be a decimal number from 1 to 65535"))?;
        if port == 0 {
            return Err(EndpointError::PortZero {
                input: input.escape_debug().to_string(),
            }
            .into());
        }
        if input.starts_with('[') {
            let ip: Ipv6Addr = host
                .parse()
                .map_err(|_| syntax("the text in brackets is not an IPv6 address"))?;
            return Endpoint::address(IpAddr::V6(ip), port);
        }
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Endpoint::address(IpAddr::V4(ip), port);
        }
        if host.is_empty() {
            return Err(syntax("the address or host name is missing").into());
        }
        hostname::check_host_name(host, true).map_err(|reason| syntax(&reason))?;
        Endpoint::host(host, port)
    }
}

fn check_port(port: u16, input: &str) -> Result<()> {
    if port == 0 {
        return Err(EndpointError::PortZero {
            input: input.to_owned(),
        }
        .into());
    }
    Ok(())
}

/// IPv4-mapped IPv6 addresses are the IPv4 address.
pub(crate) fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14: a listening socket's address is an endpoint; the unspecified addresses are
    /// the any-addresses, a mapped address is IPv4, port 0 is refused.
    #[test]
    fn a_socket_address_converts() {
        let cases = [
            ("0.0.0.0:443", "0.0.0.0:443"),
            ("[::]:443", "[::]:443"),
            ("[::ffff:192.0.2.10]:8443", "192.0.2.10:8443"),
            ("[2001:db8::1]:443", "[2001:db8::1]:443"),
        ];
        for (address, shown) in cases {
            let address: SocketAddr = address.parse().unwrap();
            assert_eq!(Endpoint::try_from(address).unwrap().to_string(), shown);
        }
        let any_port: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert!(matches!(
            Endpoint::try_from(any_port),
            Err(Error::Endpoint(EndpointError::PortZero { .. }))
        ));
    }

    #[test]
    fn parses_and_displays_each_form() {
        for (input, shown) in [
            ("0.0.0.0:443", "0.0.0.0:443"),
            ("[::]:443", "[::]:443"),
            ("192.0.2.10:443", "192.0.2.10:443"),
            ("[2001:db8::1]:443", "[2001:db8::1]:443"),
            ("[2001:0db8:0::1]:8443", "[2001:db8::1]:8443"),
            ("[::ffff:192.0.2.10]:443", "192.0.2.10:443"),
            ("www.example.com:443", "www.example.com:443"),
            ("WWW.Example.COM:443", "www.example.com:443"),
            ("*.example.com:443", "*.example.com:443"),
            ("intranet:65535", "intranet:65535"),
        ] {
            let e: Endpoint = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(e.to_string(), shown);
            assert_eq!(shown.parse::<Endpoint>().unwrap(), e, "round trip {shown}");
        }
        let any4: Endpoint = "0.0.0.0:443".parse().unwrap();
        let any6: Endpoint = "[::]:443".parse().unwrap();
        assert!(any4.is_any_address() && any6.is_any_address());
        assert_ne!(
            any4, any6,
            "the IPv4 and IPv6 wildcards are separate bindings"
        );
        let host: Endpoint = "Www.Example.com:8443".parse().unwrap();
        assert_eq!(host.host_name(), Some("www.example.com"));
        assert_eq!(host.port(), 8443);
        assert_eq!(host.ip(), None);
    }

    #[test]
    fn refuses_bad_endpoints_with_typed_errors() {
        for bad in [
            "",
            "443",
            "www.example.com",
            "www.example.com:",
            "www.example.com:https",
            "www.example.com:65536",
            "www.example.com:-1",
            "www.example.com:+443",
            "2001:db8::1:443",
            "[2001:db8::1]443",
            "[2001:db8::zz]:443",
            "[192.0.2.1]:443",
            ":443",
            "bad_host.example:443",
            "www.*.example.com:443",
            "192.0.2.300:443",
            "www.example.com:443\n",
        ] {
            match bad.parse::<Endpoint>() {
                Err(Error::Endpoint(EndpointError::Syntax { reason, .. })) => {
                    let msg = bad.parse::<Endpoint>().unwrap_err().to_string();
                    assert!(msg.contains("accepted forms"), "{bad:?}: {msg}");
                    assert!(!reason.is_empty());
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        for zero in [
            "0.0.0.0:0",
            "www.example.com:0",
            "[::1]:0",
            "www.example.com:00",
        ] {
            assert!(
                matches!(
                    zero.parse::<Endpoint>(),
                    Err(Error::Endpoint(EndpointError::PortZero { .. }))
                ),
                "{zero}"
            );
        }
        assert!(Endpoint::any(false, 0).is_err());
        assert!(Endpoint::host("www.example.com", 0).is_err());
    }

    #[test]
    fn candidates_go_from_specific_to_general() {
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        let c: Vec<String> = Endpoint::candidates(ip, 443, Some("WWW.example.com"))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            c,
            [
                "www.example.com:443",
                "*.example.com:443",
                "192.0.2.10:443",
                "0.0.0.0:443"
            ]
        );
        let mapped: IpAddr = "::ffff:192.0.2.10".parse().unwrap();
        let c: Vec<String> = Endpoint::candidates(mapped, 443, Some("bad name!"))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(c, ["192.0.2.10:443", "0.0.0.0:443"]);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let c: Vec<String> = Endpoint::candidates(v6, 443, Some("intranet"))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(c, ["intranet:443", "[2001:db8::1]:443", "[::]:443"]);
        // An SNI value that is itself a wildcard never matches anything but address bindings.
        let c = Endpoint::candidates(ip, 443, Some("*.example.com"));
        assert_eq!(c.len(), 2);
    }
}
