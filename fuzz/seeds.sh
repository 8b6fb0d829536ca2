#!/usr/bin/env bash
# Writes seed corpora for the fuzz targets into fuzz/corpus/<target>/ with the OpenSSL CLI.
# Usage: fuzz/seeds.sh   (from anywhere; takes a few seconds; corpus/ is not committed)
set -euo pipefail
cd "$(dirname "$0")"
PASSWORD=fuzz-password # the fixed password of the private_key_pem target
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p corpus/{private_key_der,private_key_pem,request_der,certificate_der,name_str,certificate_any,endpoint_str}

for bits in 2048 3072; do
    openssl genrsa -out "$tmp/k$bits.pem" "$bits" 2>/dev/null
    # Keys: PKCS#8 and PKCS#1, DER and PEM, and encrypted PKCS#8 (PBES2: PBKDF2 and scrypt).
    openssl pkey -in "$tmp/k$bits.pem" -outform DER -out "corpus/private_key_der/pkcs8-$bits.der"
    openssl rsa -in "$tmp/k$bits.pem" -traditional -outform DER \
        -out "corpus/private_key_der/pkcs1-$bits.der" 2>/dev/null
    openssl pkey -in "$tmp/k$bits.pem" -out "corpus/private_key_pem/pkcs8-$bits.pem"
    openssl rsa -in "$tmp/k$bits.pem" -traditional -out "corpus/private_key_pem/pkcs1-$bits.pem" 2>/dev/null
    openssl pkcs8 -topk8 -in "$tmp/k$bits.pem" -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter 1000 \
        -passout "pass:$PASSWORD" -out "corpus/private_key_pem/pbkdf2-$bits.pem"
    openssl pkcs8 -topk8 -in "$tmp/k$bits.pem" -scrypt -scrypt_N 1024 -scrypt_r 8 -scrypt_p 1 \
        -passout "pass:$PASSWORD" -out "corpus/private_key_pem/scrypt-$bits.pem"
    { echo "Explanatory text before the block"; cat "$tmp/k$bits.pem"; echo "and after"; } \
        > "corpus/private_key_pem/with-text-$bits.pem"

    # Requests: SHA-256/384, with and without extensions.
    openssl req -new -key "$tmp/k$bits.pem" -subj "/C=US/O=Example Corp/CN=www.example.com" \
        -addext "subjectAltName=DNS:www.example.com,DNS:example.com,IP:192.0.2.1" \
        -outform DER -out "corpus/request_der/san-$bits.der"
    openssl req -new -sha384 -key "$tmp/k$bits.pem" -subj "/CN=host.example.org/OU=a/OU=b" \
        -outform DER -out "corpus/request_der/sha384-$bits.der"

    # Certificates: self-signed, DER, and a two-certificate PEM chain.
    openssl req -x509 -new -key "$tmp/k$bits.pem" -days 30 -subj "/C=US/O=Example CA/CN=Example CA" \
        -addext "basicConstraints=critical,CA:TRUE" -out "$tmp/ca$bits.pem"
    openssl req -x509 -new -key "$tmp/k$bits.pem" -days 30 -subj "/CN=www.example.com" \
        -addext "subjectAltName=DNS:www.example.com" -out "$tmp/leaf$bits.pem"
    openssl x509 -in "$tmp/leaf$bits.pem" -outform DER -out "corpus/certificate_der/leaf-$bits.der"
    cat "$tmp/leaf$bits.pem" "$tmp/ca$bits.pem" > "corpus/certificate_der/chain-$bits.pem"
done

# Distinguished names, RFC 4514 style.
i=0
while IFS= read -r name; do
    printf '%s' "$name" > "corpus/name_str/name-$i.txt"
    i=$((i + 1))
done <<'NAMES'
CN=www.example.com
CN=www.example.com,O=Example Corp,C=US
CN=www.example.com,OU=Web,OU=Ops,O=Example Corp,L=Springfield,ST=Oregon,C=US
CN=*.example.com,O=Example\, Inc.,C=US
CN=host.example.org+OU=Web,O=Example
emailAddress=admin@example.com,CN=mail.example.com
CN=xn--bcher-kva.example,O=Bücher GmbH,C=DE
CN=\#hash\ ,O=\"quoted\",C=FR
NAMES
# certificate_any: the certificate seeds, plus PKCS#7 certs-only (DER and PEM) and a request.
cp corpus/certificate_der/* corpus/certificate_any/
for bits in 2048; do
    openssl crl2pkcs7 -nocrl -certfile "$tmp/leaf$bits.pem" -certfile "$tmp/ca$bits.pem" \
        -outform DER -out "corpus/certificate_any/chain-$bits.p7b"
    openssl crl2pkcs7 -nocrl -certfile "$tmp/leaf$bits.pem" -certfile "$tmp/ca$bits.pem" \
        -out "corpus/certificate_any/chain-$bits.p7b.pem"
    cp "$tmp/leaf$bits.pem" "corpus/certificate_any/leaf-$bits.pem"
done
cp corpus/request_der/san-2048.der corpus/certificate_any/request.der

i=0
for endpoint in 0.0.0.0:443 '[::]:443' 192.0.2.10:443 '[2001:db8::1]:8443' \
    '[::ffff:192.0.2.10]:443' www.example.com:443 '*.example.com:443' WWW.Example.COM:65535; do
    printf '%s' "$endpoint" > "corpus/endpoint_str/endpoint-$i.txt"
    i=$((i + 1))
done

echo "seeds written under $(pwd)/corpus"
