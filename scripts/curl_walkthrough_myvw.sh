#!/usr/bin/env bash
# The myVW app's requests (see docs/simulator.md), one by one, with curl against the simulator:
#   python -m carnet.simulator --port 8765 --identity-port 8766
#   bash scripts/curl_walkthrough_myvw.sh [API_BASE] [IDENTITY_BASE]
# Needs curl, openssl and python3 (for JSON); prints what each step returns.
set -euo pipefail
API=${1:-http://127.0.0.1:8765}
ID=${2:-http://127.0.0.1:8766}
CLIENT_ID=59992128-69a9-42c3-8621-7942041ba824_MYVW_ANDROID
EMAIL=demo@example.com PASSWORD=demo SPIN=1234
JAR=$(mktemp)
trap 'rm -f "$JAR"' EXIT
# json PATH: the value at a dotted path (data.user.userId) of the JSON on stdin.
json() {
    python3 -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[int(key)] if key.isdigit() else value[key]
print(value)' "$1"
}
field() { printf %s "$PAGE" | grep -o "name=\"$1\" value=\"[^\"]*\"" | head -1 | sed 's/.*value="//; s/"$//'; }
# model KEY: a string of the password page's window._IDK templateModel
model() { printf %s "$PAGE" | grep -o "\"$1\": \"[^\"]*\"" | head -1 | sed 's/.*: "//; s/"$//'; }
api() { curl -sS -H "authorization: Bearer $1" -H "content-version: 1" -H "user-agent: MyVW/1.0 Android" "${@:2}"; }

# PKCE: 128 upper-case hex characters, the challenge base64url(SHA-256) without padding
VERIFIER=$(openssl rand -hex 64 | tr a-f A-F)
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')

echo "== Authorize, follow the redirects to the e-mail form"
PAGE=$(curl -sS -L -c "$JAR" -b "$JAR" "$API/oidc/v1/authorize?redirect_uri=kombi%3A%2F%2F%2Flogin&scope=openid&prompt=login&code_challenge=$CHALLENGE&code_challenge_method=S256&state=walk&response_type=code&client_id=$CLIENT_ID")
CSRF=$(field _csrf) RELAY=$(field relayState) HMAC=$(field hmac)
ACTION=$(printf %s "$PAGE" | grep -o 'action="[^"]*identifier"' | sed 's/action="//; s/"$//')
echo "form action $ACTION"

echo "== The e-mail address; the password page carries window._IDK"
PAGE=$(curl -sS -L -c "$JAR" -b "$JAR" "$ID$ACTION" --data-urlencode "_csrf=$CSRF" \
    --data-urlencode "relayState=$RELAY" --data-urlencode "email=$EMAIL" --data-urlencode "hmac=$HMAC")
HMAC=$(model hmac) POST_ACTION=$(model postAction)
CSRF=$(printf %s "$PAGE" | grep -o "csrf_token: '[^']*'" | sed "s/csrf_token: '//; s/'$//")
echo "postAction $POST_ACTION"

echo "== The password; the redirects end at kombi:///login"
LOCATION=$(curl -sS -c "$JAR" -b "$JAR" -o /dev/null -w '%{redirect_url}' \
    "$ID${ACTION%login/identifier}$POST_ACTION" --data-urlencode "_csrf=$CSRF" \
    --data-urlencode "relayState=$RELAY" --data-urlencode "email=$EMAIL" \
    --data-urlencode "hmac=$HMAC" --data-urlencode "password=$PASSWORD")
USER_ID=$(printf %s "$LOCATION" | sed 's/.*[?&]userId=//; s/&.*//')
while [ -n "$LOCATION" ] && [ "${LOCATION#kombi:}" = "$LOCATION" ]; do
    LOCATION=$(curl -sS -c "$JAR" -b "$JAR" -o /dev/null -w '%{redirect_url}' "$LOCATION")
done
CODE=$(printf %s "$LOCATION" | sed 's/.*[?&]code=//; s/&.*//')
echo "code ${CODE:0:8}... for user $USER_ID"

echo "== The tokens"
TOKENS=$(curl -sS "$API/oidc/v1/token" --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$CODE" --data-urlencode "client_id=$CLIENT_ID" \
    --data-urlencode "redirect_uri=kombi:///login" --data-urlencode "code_verifier=$VERIFIER")
ACCESS=$(printf %s "$TOKENS" | json access_token)
IDTOKEN=$(printf %s "$TOKENS" | json id_token)
echo "expires_in $(printf %s "$TOKENS" | json expires_in)"

echo "== The garage"
GARAGE=$(api "$ACCESS" "$API/account/v1/garage?idToken=$IDTOKEN")
VID=$(printf %s "$GARAGE" | json data.vehicles.0.vehicleId)
TSP=$(printf %s "$GARAGE" | json data.vehicles.0.tspProvider)
printf %s "$GARAGE" | json data.vehicles.0.modelName

echo "== Charge summary"
api "$ACCESS" "$API/ev/v1/vehicle/$VID/charge/summary" | json data.batteryStatus.currentSOCPct

echo "== S-PIN challenge and session"
CHALLENGE=$(api "$ACCESS" "$API/ss/v1/user/$USER_ID/challenge" | json data.challenge)
HASH=$(printf %s "$CHALLENGE.$SPIN" | openssl dgst -sha512 | sed 's/.*= //')
VTOKEN=$(api "$ACCESS" "$API/ss/v1/user/$USER_ID/vehicle/$VID/session" -H 'content-type: application/json' \
    -d "{\"idToken\": \"$IDTOKEN\", \"spinHash\": \"$HASH\", \"tsp\": \"$TSP\"}" | json data.carnetVehicleToken)
echo "carnetVehicleToken ${VTOKEN:0:8}..."

echo "== Unlock the doors"
CID=$(api "$VTOKEN" -X PUT "$API/lockunlock/v1/vehicle/$VID" -H 'content-type: application/json' \
    -d '{"lock": false}' | json data.correlationId)
echo "correlationId $CID"

echo "== The outcome"
api "$ACCESS" "$API/history/v1/vehicle/$VID/correlationId/$CID/ro/" | json data.responseBody \
    | json eventStatus.responseCode

echo "== Vehicle status"
api "$ACCESS" "$API/rvs/v1/vehicle/$VID" | json data.lockStatus
