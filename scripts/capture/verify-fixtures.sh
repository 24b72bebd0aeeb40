#!/bin/sh
# Checks the captured SCEP fixtures with openssl alone (independent of our codec):
# signature, messageType 19, transactionID, inner envelope algorithm, decryption with the
# fixture CA/RA key, and the challenge + CN in the CSR.
# DES-CBC needs OpenSSL 3's legacy provider: fine for checking fixtures, never in product code.
#   sh scripts/capture/verify-fixtures.sh [test/fixtures]
set -eu
F=${1:-$(dirname "$0")/../../test/fixtures}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PROV="-provider legacy -provider default"

check() { # file recipient(ca|ra-encrypt) challenge cn
  file=$F/$1; recip=$2; challenge=$3; cn=$4
  echo "== $1"
  openssl cms -verify -inform DER -in "$file" -noverify -binary -out "$T/env.der" 2>"$T/err" || { cat "$T/err"; exit 1; }
  openssl cms -inform DER -in "$file" -cmsout -print >"$T/print"
  grep -A2 '2.16.840.1.113733.1.9.2)' "$T/print" | grep -q 'PRINTABLESTRING:19' || { echo "messageType is not 19"; exit 1; }
  echo "  digest:        $(grep -A1 'digestAlgorithm:' "$T/print" | sed -n 's/.*algorithm: //p' | head -1)"
  echo "  sigAlg:        $(grep -A1 'signatureAlgorithm:' "$T/print" | sed -n 's/.*algorithm: //p' | tail -1)"
  echo "  transactionID: $(grep -A2 '2.16.840.1.113733.1.9.7)' "$T/print" | sed -n 's/.*PRINTABLESTRING://p')"
  echo "  signer:        $(grep -m1 'issuer:' "$T/print" | sed 's/^ *issuer: //') (issuer) / $(grep -m1 'subject:' "$T/print" | sed 's/^ *subject: //') (subject)"
  echo "  content enc:   $(openssl asn1parse -inform DER -in "$T/env.der" | grep -E 'des-cbc|des-ede3-cbc|aes-(128|192|256)-cbc' | sed 's/.*://')"
  echo "  recipients:    $(openssl cms -inform DER -in "$T/env.der" -cmsout -print | grep -c 'd.ktri')"
  # shellcheck disable=SC2086
  openssl cms -decrypt -inform DER -in "$T/env.der" -recip "$F/test-$recip.cert.pem" -inkey "$F/test-$recip.key.pem" \
    $PROV -binary -out "$T/csr.der"
  openssl req -inform DER -in "$T/csr.der" -noout -verify 2>&1 | grep -q 'verify OK' || { echo "CSR signature bad"; exit 1; }
  openssl req -inform DER -in "$T/csr.der" -noout -text >"$T/csr.txt"
  grep -q "challengePassword *:$challenge" "$T/csr.txt" || { echo "challenge $challenge not found"; exit 1; }
  grep -q "Subject:.*CN *= *$cn" "$T/csr.txt" || { echo "CN $cn not found"; exit 1; }
  echo "  csr subject:   $(sed -n 's/^ *Subject: //p' "$T/csr.txt")"
  echo "  decrypted with test-$recip key: OK"
}

check scepclient-pkcsreq-des.der ca fixture-challenge-1 fixture-device-1
check scepclient-pkcsreq-ra.der ra-encrypt fixture-challenge-1 fixture-device-1
check certmonger-pkcsreq-aes.der ca fixture-challenge-2 fixture-device-2
check certmonger-pkcsreq-ra.der ra-encrypt fixture-challenge-2 fixture-device-2
echo "all fixtures OK"
