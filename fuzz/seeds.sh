#!/usr/bin/env bash
# Writes the committed seed corpora, fuzz/seeds/<target>/: inputs made with the OpenSSL CLI
# (openssl-*) and by keymanager itself (ours-*, from examples/make_seeds.rs). A few KB per
# target. Usage: fuzz/seeds.sh (from anywhere; needs openssl and cargo; ~10 s once built).
# The fuzzers read seeds/<target>/ next to their growing, uncommitted corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
PASSWORD=fuzz-password # the fixed password of the key targets and passphrase of store_open
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rm -rf seeds
mkdir -p seeds/{store_model,private_key_der,private_key_pem,private_key_encrypted,request_der,request_pem,certificate_der,certificate_any,name_str,endpoint_str,store_open,pkcs12}
s=seeds

openssl genrsa -out "$tmp/k.pem" 2048 2>/dev/null
# Keys: PKCS#8 and PKCS#1 DER, PKCS#1 PEM with text around it, encrypted PKCS#8 (PBES2 with
# PBKDF2 and with scrypt, cheap parameters), and a legacy-encrypted PEM (refused).
openssl pkey -in "$tmp/k.pem" -outform DER -out "$s/private_key_der/openssl-pkcs8.der"
openssl rsa -in "$tmp/k.pem" -traditional -outform DER -out "$s/private_key_der/openssl-pkcs1.der" 2>/dev/null
{ echo "Explanatory text before the block"; openssl rsa -in "$tmp/k.pem" -traditional 2>/dev/null; echo "and after"; } \
    > "$s/private_key_pem/openssl-pkcs1-with-text.pem"
openssl pkcs8 -topk8 -in "$tmp/k.pem" -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter 1000 \
    -passout "pass:$PASSWORD" -out "$s/private_key_pem/openssl-pbkdf2.pem"
openssl pkcs8 -topk8 -in "$tmp/k.pem" -v2 aes-128-cbc -v2prf hmacWithSHA512 -iter 500 \
    -passout "pass:$PASSWORD" -outform DER -out "$s/private_key_encrypted/openssl-pbkdf2-sha512.der"
openssl pkcs8 -topk8 -in "$tmp/k.pem" -scrypt -scrypt_N 1024 -scrypt_r 8 -scrypt_p 1 \
    -passout "pass:$PASSWORD" -outform DER -out "$s/private_key_encrypted/openssl-scrypt.der"
openssl rsa -in "$tmp/k.pem" -aes128 -traditional -passout "pass:$PASSWORD" \
    -out "$s/private_key_pem/openssl-legacy-encrypted.pem" 2>/dev/null
# ECDSA keys (the SEC1 and EC PKCS#8 parser paths): SEC1 `EC PRIVATE KEY` DER (P-256) and
# PEM (P-384), PKCS#8 DER (P-384), encrypted PKCS#8 (P-256), and a SEC1 key on an unsupported
# curve (secp521r1).
openssl ecparam -genkey -name prime256v1 -noout -outform DER -out "$s/private_key_der/openssl-sec1-p256.der"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -outform DER -out "$s/private_key_der/openssl-pkcs8-p384.der"
openssl ecparam -genkey -name secp521r1 -noout -outform DER -out "$s/private_key_der/openssl-sec1-p521.der"
openssl ecparam -genkey -name secp384r1 -noout -out "$s/private_key_pem/openssl-sec1-p384.pem"
openssl pkcs8 -topk8 -inform DER -in "$s/private_key_der/openssl-sec1-p256.der" -v2 aes-256-cbc -iter 1000 \
    -passout "pass:$PASSWORD" -outform DER -out "$s/private_key_encrypted/openssl-ec-pbkdf2.der"
# PKCS#12: a self-signed server certificate with its key, as OpenSSL 3 writes by default
# (AES-256, PBKDF2), with -legacy (RC2-40 and 3DES) and with 3DES alone; cheap iterations.
openssl req -x509 -key "$tmp/k.pem" -out "$tmp/p12-cert.pem" -subj /CN=fuzz.example.com \
    -days 3650 -addext extendedKeyUsage=serverAuth 2>/dev/null
for shape in "default:" "legacy:-legacy" "3des:-certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1"; do
    # shellcheck disable=SC2086 # the options are words
    openssl pkcs12 -export -inkey "$tmp/k.pem" -in "$tmp/p12-cert.pem" -name fuzz -iter 1000 \
        -passout "pass:$PASSWORD" ${shape#*:} -out "$s/pkcs12/openssl-${shape%%:*}.p12"
done

# Requests: SHA-256 with subjectAltName, SHA-384 with two OUs; the old PEM label.
openssl req -new -key "$tmp/k.pem" -subj "/C=US/O=Example Corp/CN=www.example.com" \
    -addext "subjectAltName=DNS:www.example.com,DNS:example.com,IP:192.0.2.1" \
    -outform DER -out "$s/request_der/openssl-san.der"
openssl req -new -sha384 -key "$tmp/k.pem" -subj "/CN=host.example.org/OU=a/OU=b" \
    -outform DER -out "$s/request_der/openssl-sha384.der"
openssl req -in "$s/request_der/openssl-sha384.der" -inform DER \
    | sed 's/CERTIFICATE REQUEST/NEW CERTIFICATE REQUEST/' > "$s/request_pem/openssl-new-label.pem"

# Certificates: self-signed leaf (DER), leaf + CA as PKCS#7 certs-only (DER).
openssl req -x509 -new -key "$tmp/k.pem" -days 30 -subj "/C=US/O=Example CA/CN=Example CA" \
    -addext "basicConstraints=critical,CA:TRUE" -out "$tmp/ca.pem"
openssl req -x509 -new -key "$tmp/k.pem" -days 30 -subj "/CN=www.example.com" \
    -addext "subjectAltName=DNS:www.example.com" -out "$tmp/leaf.pem"
openssl x509 -in "$tmp/leaf.pem" -outform DER -out "$s/certificate_der/openssl-self-signed.der"
openssl crl2pkcs7 -nocrl -certfile "$tmp/leaf.pem" -certfile "$tmp/ca.pem" \
    -outform DER -out "$s/certificate_any/openssl-chain.p7b"

# Distinguished names, RFC 4514 style.
i=0
while IFS= read -r name; do
    printf '%s' "$name" > "$s/name_str/name-$i.txt"
    i=$((i + 1))
done <<'NAMES'
CN=www.example.com,OU=Web,OU=Ops,O=Example Corp,L=Springfield,ST=Oregon,C=US
CN=*.example.com,O=Example\, Inc.,C=US
CN=host.example.org+OU=Web,O=Example
CN=xn--bcher-kva.example,O=Bücher GmbH,C=DE
CN=\#hash\ ,O=\"quoted\",C=FR
2.5.4.3=#0c0f7777772e6578616d706c652e636f6d
NAMES

i=0
for endpoint in 0.0.0.0:443 '[::]:443' 192.0.2.10:443 '[2001:db8::1]:8443' \
    '[::ffff:192.0.2.10]:443' www.example.com:443 '*.example.com:443' WWW.Example.COM:65535; do
    printf '%s' "$endpoint" > "$s/endpoint_str/endpoint-$i.txt"
    i=$((i + 1))
done

# The seeds made by keymanager itself (ours-*).
cargo run --quiet --manifest-path Cargo.toml --example make_seeds
du -sh seeds/*
