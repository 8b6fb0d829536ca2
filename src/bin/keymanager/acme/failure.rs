//! ACME failures in this tool's terms: the exit code and what to do.

use keymanager::error::AcmeError;

use crate::failure::code;

/// The exit code of an ACME failure (the table in `--help` and the README).
pub fn code(e: &AcmeError) -> u8 {
    match e {
        AcmeError::InvalidOptions { .. } | AcmeError::Dns01Provider { .. } => code::REFUSED,
        AcmeError::TermsNotAgreed { .. } => code::USAGE,
        AcmeError::RateLimited { .. } => code::RATE_LIMITED,
        AcmeError::Timeout { .. }
        | AcmeError::Network { .. }
        | AcmeError::Protocol { .. }
        | AcmeError::BadNonce { .. }
        | AcmeError::ServerInternal { .. } => code::CA_UNREACHABLE,
        AcmeError::Responder { .. } | AcmeError::Runtime { .. } => code::IO,
        _ => code::CA_REFUSED,
    }
}

/// What to do, in this tool's terms.
pub fn hint(e: &AcmeError) -> &'static str {
    match e {
        AcmeError::TermsNotAgreed { .. } => {
            "register first: `keymanager acme account --directory URL --agree-tos [--email ADDR]`"
        }
        AcmeError::ExternalAccountRequired { .. } => {
            "`keymanager acme account --eab-kid ID --eab-hmac-fd N` with the CA's key id and HMAC key"
        }
        AcmeError::RateLimited { .. } => {
            "the order stays recorded: run the same command after the time the CA gives"
        }
        AcmeError::Timeout { .. }
        | AcmeError::Network { .. }
        | AcmeError::BadNonce { .. }
        | AcmeError::ServerInternal { .. } => {
            "run the same command again: it resumes the recorded order (`keymanager acme orders`)"
        }
        AcmeError::Connection { .. }
        | AcmeError::Dns { .. }
        | AcmeError::IncorrectResponse { .. }
        | AcmeError::TlsValidation { .. }
        | AcmeError::Unauthorized { .. } => {
            "the key stays pending: fix what the CA could not reach (--listen, --challenge, DNS), \
             then run the same command again"
        }
        AcmeError::Dns01Provider { .. } => {
            "check the --dns-hook program: it must exit 0 once the record is published"
        }
        _ => {
            "nothing was installed; the pending key and the order's record stay (`keymanager acme orders`)"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::Failure;

    #[test]
    fn acme_failures_have_their_own_codes() {
        let cases = [
            (
                AcmeError::RejectedIdentifier { detail: "x".into() },
                code::CA_REFUSED,
            ),
            (
                AcmeError::RateLimited {
                    detail: "x".into(),
                    retry_after: None,
                },
                code::RATE_LIMITED,
            ),
            (
                AcmeError::Network {
                    during: "x",
                    reason: "y".into(),
                },
                code::CA_UNREACHABLE,
            ),
            (
                AcmeError::TermsNotAgreed {
                    directory: "https://ca.test/dir".into(),
                },
                code::USAGE,
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(
                Failure::from(keymanager::Error::from(error)).code(),
                expected
            );
        }
    }
}
