#!/usr/bin/env bash
# Makes a development CA and leaf certificates for sriov-controller, its agents
# and its operators' tools, with the openssl CLI.
#
#   certs/make-certs.sh OUT_DIR [--trust-domain TD] [--node NAME]... [--operator NAME]...
#                       [--viewer NAME]... [--controller-san SAN]... [--days N]
#                       [--expired ROLE/NAME]... [--revoke ROLE/NAME]... [--crl]
#
# Writes, into OUT_DIR:
#   ca.crt, ca.key                  the CA (ECDSA P-256, self-signed)
#   controller.crt, controller.key  server auth only; DNS:localhost, IP:127.0.0.1,
#                                   IP:::1, each --controller-san (an IP or a DNS name) and
#                                   URI spiffe://TD/controller/sriov-controller
#   node-NAME.crt/.key              client auth only; URI SAN spiffe://TD/node/NAME
#   operator-NAME.crt/.key          client auth only; URI SAN spiffe://TD/operator/NAME
#   viewer-NAME.crt/.key            client auth only; URI SAN spiffe://TD/viewer/NAME
#   expired-ROLE-NAME.crt/.key      like ROLE-NAME, but valid only in 2020 (for tests)
#   ca.crl                          with --revoke or --crl: the CA's CRL (30 days), listing
#                                   every certificate revoked so far (crl-index.txt keeps them)
# Leaf certificates follow SPIFFE's X509-SVID rules: exactly one URI SAN, CA:FALSE,
# keyUsage digitalSignature. Client leaves carry extendedKeyUsage clientAuth and no
# serverAuth, so none of them can pose as the controller; the controller carries
# serverAuth only. Names are DNS-1123 labels. The trust domain defaults to sriov.local,
# validity to 365 days. An existing CA in OUT_DIR is reused, so more leaves can be added
# (or revoked) later; keys are written with mode 0600.
set -euo pipefail

usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "make-certs: $*" >&2; exit 2; }

[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage ;; -*) die "the first argument must be OUT_DIR, got '$1'" ;; esac
out=$1; shift
td=sriov.local
days=365
nodes=(); operators=(); viewers=(); sans=(); expired=(); revoke=(); crl=0
# A DNS-1123 label, as the controller requires of the NAME in a SPIFFE ID.
name_re='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
while [ $# -gt 0 ]; do
  if [ "$1" = --crl ]; then crl=1; shift; continue; fi
  [ $# -ge 2 ] || die "option $1 needs a value"
  case "$1" in
    --trust-domain) td=$2 ;;
    --node) nodes+=("$2") ;;
    --operator) operators+=("$2") ;;
    --viewer) viewers+=("$2") ;;
    --controller-san) sans+=("$2") ;;
    --days) days=$2 ;;
    --expired) expired+=("$2") ;;
    --revoke) revoke+=("$2") ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift 2
done
[[ $td =~ ^[a-z0-9._-]+$ ]] || die "trust domain '$td' may hold only a-z, 0-9, '.', '-' and '_'"
[[ $days =~ ^[1-9][0-9]*$ ]] || die "--days '$days' must be a positive whole number"
for n in "${nodes[@]}" "${operators[@]}" "${viewers[@]}"; do
  [[ $n =~ $name_re ]] || die "name '$n' must be a DNS-1123 label (lowercase letters, digits and '-', at most 63)"
done
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"

mkdir -p "$out"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [ ! -f "$out/ca.crt" ] || [ ! -f "$out/ca.key" ]; then
  newkey "$out/ca.key"
  openssl req -x509 -new -key "$out/ca.key" -sha256 -days 3650 \
    -subj "/O=sriov-operator/CN=sriov-operator development CA ($td)" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$out/ca.crt" 2>/dev/null
fi

# sign KEY CRT SUBJECT SAN_LIST EKU [START END]
sign() {
  local key=$1 crt=$2 subject=$3 san=$4 eku=$5 start=${6:-} end=${7:-}
  newkey "$key"
  openssl req -new -key "$key" -subj "$subject" -out "$work/req.csr" 2>/dev/null
  cat > "$work/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=$eku
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=$san
EXT
  if [ -n "$start" ]; then
    # openssl x509 cannot back-date; openssl ca can.
    mkdir -p "$work/ca/new"
    : > "$work/ca/index.txt"
    openssl rand -hex 16 > "$work/ca/serial"
    cat > "$work/ca.cnf" <<CNF
[ca]
default_ca = dev
[dev]
database = $work/ca/index.txt
new_certs_dir = $work/ca/new
serial = $work/ca/serial
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
CNF
    openssl ca -batch -config "$work/ca.cnf" -cert "$out/ca.crt" -keyfile "$out/ca.key" \
      -startdate "$start" -enddate "$end" -extfile "$work/ext.cnf" \
      -in "$work/req.csr" -out "$crt" -notext 2>/dev/null
  else
    openssl x509 -req -in "$work/req.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -days "$days" -sha256 \
      -extfile "$work/ext.cnf" -out "$crt" 2>/dev/null
  fi
  chmod 0644 "$crt"
}

controller_san="DNS:localhost,IP:127.0.0.1,IP:::1,URI:spiffe://$td/controller/sriov-controller"
for s in "${sans[@]}"; do
  if [[ $s =~ ^[0-9.]+$ ]] || [[ $s == *:* ]]; then controller_san="$controller_san,IP:$s"
  else controller_san="$controller_san,DNS:$s"; fi
done
sign "$out/controller.key" "$out/controller.crt" "/O=sriov-operator/OU=controller/CN=sriov-controller" "$controller_san" serverAuth
for n in "${nodes[@]}"; do sign "$out/node-$n.key" "$out/node-$n.crt" "/O=sriov-operator/OU=node/CN=$n" "URI:spiffe://$td/node/$n" clientAuth; done
for n in "${operators[@]}"; do sign "$out/operator-$n.key" "$out/operator-$n.crt" "/O=sriov-operator/OU=operator/CN=$n" "URI:spiffe://$td/operator/$n" clientAuth; done
for n in "${viewers[@]}"; do sign "$out/viewer-$n.key" "$out/viewer-$n.crt" "/O=sriov-operator/OU=viewer/CN=$n" "URI:spiffe://$td/viewer/$n" clientAuth; done
for e in "${expired[@]}"; do
  role=${e%%/*}; n=${e#*/}
  case "$role" in node|operator|viewer) ;; *) die "--expired '$e' must be ROLE/NAME with ROLE node, operator or viewer" ;; esac
  [[ $n =~ $name_re ]] || die "name '$n' in --expired must be a DNS-1123 subdomain"
  sign "$out/expired-$role-$n.key" "$out/expired-$role-$n.crt" "/O=sriov-operator/OU=$role/CN=$n" "URI:spiffe://$td/$role/$n" clientAuth 20200101000000Z 20200102000000Z
done

# Revocation: crl-index.txt in OUT_DIR is the CA database of revoked
# certificates; ca.crl is regenerated from it.
if [ ${#revoke[@]} -gt 0 ] || [ $crl = 1 ]; then
  touch "$out/crl-index.txt"
  cat > "$work/crl.cnf" <<CNF
[ca]
default_ca = dev
[dev]
database = $out/crl-index.txt
default_md = sha256
default_crl_days = 30
unique_subject = no
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid
CNF
  for r in "${revoke[@]}"; do
    role=${r%%/*}; n=${r#*/}
    case "$role" in node|operator|viewer|expired-node|expired-operator|expired-viewer) ;; *) die "--revoke '$r' must be ROLE/NAME with ROLE node, operator or viewer" ;; esac
    [ -f "$out/$role-$n.crt" ] || die "--revoke '$r': $out/$role-$n.crt does not exist"
    openssl ca -batch -config "$work/crl.cnf" -cert "$out/ca.crt" -keyfile "$out/ca.key" \
      -revoke "$out/$role-$n.crt" 2>/dev/null || die "could not revoke $out/$role-$n.crt"
  done
  openssl ca -batch -config "$work/crl.cnf" -cert "$out/ca.crt" -keyfile "$out/ca.key" \
    -gencrl -out "$out/ca.crl" 2>/dev/null || die "could not write $out/ca.crl"
  chmod 0644 "$out/ca.crl"
fi
chmod 0644 "$out/ca.crt"
echo "make-certs: wrote certificates for trust domain $td into $out"
