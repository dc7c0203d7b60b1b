#!/usr/bin/env bash
# The Car-Net API description, request by request, with curl against the simulator:
#   python -m carnet.simulator --port 8765 --identity-port 8766
#   bash scripts/curl_walkthrough.sh [API_BASE] [IDENTITY_BASE]
# Needs curl, openssl and python3 (for a UUID and JSON); prints what each step returns.
set -euo pipefail
API=${1:-http://127.0.0.1:8765}
ID=${2:-http://127.0.0.1:8766}
CLIENT_ID=2dae49f6-830b-4180-9af9-59dd0d060916@apps_vw-dilab_com
EMAIL=demo@example.com PASSWORD=demo PIN=1234
JAR=$(mktemp)
trap 'rm -f "$JAR"' EXIT
# json PATH: the value at a dotted path (data.customer.userId) of the JSON on stdin.
json() {
    python3 -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[int(key)] if key.isdigit() else value[key]
print(value)' "$1"
}
field() { printf %s "$PAGE" | grep -o "name=\"$1\" value=\"[^\"]*\"" | head -1 | sed 's/.*value="//; s/"$//'; }
action() { printf %s "$PAGE" | grep -o "action=\"[^\"]*$1\"" | sed 's/action="//; s/"$//'; }

# PKCE: a 64-hex-character verifier and its S256 challenge (base64url; the = goes as %3D).
VERIFIER=$(openssl rand -hex 32)
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_')
STATE=$(python3 -c 'import uuid; print(uuid.uuid4())')

echo "== Auth step 1: authorize, follow the redirects to the e-mail form"
PAGE=$(curl -sS -L -c "$JAR" -b "$JAR" "$API/oidc/v1/authorize?redirect_uri=car-net%3A%2F%2F%2Foauth-callback&scope=openid&prompt=login&code_challenge=${CHALLENGE%=}%3D&state=$STATE&response_type=code&client_id=${CLIENT_ID/@/%40}")
CSRF=$(field _csrf) RELAY=$(field relayState) HMAC=$(field hmac) ACTION=$(action identifier)
echo "form action $ACTION"

echo "== Auth step 2: the e-mail address"
PAGE=$(curl -sS -L -c "$JAR" -b "$JAR" "$ID$ACTION" --data-urlencode "_csrf=$CSRF" \
    --data-urlencode "relayState=$RELAY" --data-urlencode "email=$EMAIL" --data-urlencode "hmac=$HMAC")
HMAC=$(field hmac) ACTION=$(action authenticate)
echo "form action $ACTION"

echo "== Auth step 3: the password; the last redirect goes to car-net:///oauth-callback"
LOCATION=$(curl -sS -c "$JAR" -b "$JAR" -o /dev/null -w '%{redirect_url}' "$ID$ACTION" \
    --data-urlencode "_csrf=$CSRF" --data-urlencode "relayState=$RELAY" \
    --data-urlencode "email=$EMAIL" --data-urlencode "hmac=$HMAC" --data-urlencode "password=$PASSWORD")
while [ -n "$LOCATION" ] && [ "${LOCATION#car-net:}" = "$LOCATION" ]; do
    LOCATION=$(curl -sS -c "$JAR" -b "$JAR" -o /dev/null -w '%{redirect_url}' "$LOCATION")
done
CODE=$(printf %s "$LOCATION" | sed 's/.*[?&]code=//; s/&.*//')
echo "code ${CODE:0:8}... (${#CODE} characters)"

echo "== Auth step 4: the tokens"
TOKENS=$(curl -sS "$API/oidc/v1/token" --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$CODE" --data-urlencode "client_id=$CLIENT_ID" \
    --data-urlencode "redirect_uri=car-net:///oauth-callback" --data-urlencode "code_verifier=$VERIFIER")
ACCESS=$(printf %s "$TOKENS" | json 'access_token')
IDTOKEN=$(printf %s "$TOKENS" | json 'id_token')
REFRESH=$(printf %s "$TOKENS" | json 'refresh_token')
echo "expires_in $(printf %s "$TOKENS" | json 'expires_in')"

echo "== Refresh the tokens"
TOKENS=$(curl -sS "$API/oidc/v1/token" --data-urlencode "code_verifier=$VERIFIER" \
    --data-urlencode grant_type=refresh_token --data-urlencode "client_id=$CLIENT_ID" \
    --data-urlencode "refresh_token=$REFRESH")
ACCESS=$(printf %s "$TOKENS" | json 'access_token')
IDTOKEN=$(printf %s "$TOKENS" | json 'id_token')

echo "== Profile and vehicles"
ENROLLMENT=$(curl -sS -H "Authorization: Bearer $ACCESS" "$API/account/v1/enrollment/status?idToken=$IDTOKEN")
USER_ID=$(printf %s "$ENROLLMENT" | json 'data.customer.userId')
VW_ID=$(printf %s "$ENROLLMENT" | json 'data.customer.vwId')
VEHICLE_ID=$(printf %s "$ENROLLMENT" | json 'data.vehicleEnrollmentStatus.0.vehicleId')
TSP=$(printf %s "$ENROLLMENT" | json 'data.vehicleEnrollmentStatus.0.vehicle.tspProvider')
ACCOUNT=$(printf %s "$ENROLLMENT" | json 'data.vehicleEnrollmentStatus.0.rolesAndRights.tspAccountNum')
echo "vehicle $VEHICLE_ID, TSP account $ACCOUNT"

echo "== Vehicle status"
curl -sS -H "Authorization: Bearer $ACCESS" "$API/rvs/v1/vehicle/$VEHICLE_ID" | json 'data.lockStatus'

echo "== Health report"
curl -sS -H "Authorization: Bearer $ACCESS" "$API/vhs/v2/vehicle/$VEHICLE_ID" | json 'data.overAllPriorityDescription'

echo "== TSP token (the PIN)"
TSP_TOKEN=$(curl -sS -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json;charset=UTF-8' \
    "$API/ss/v1/user/$USER_ID/vehicle/$VEHICLE_ID/session" \
    -d "{\"accountNumber\":\"$ACCOUNT\",\"idToken\":\"$IDTOKEN\",\"tspPin\":\"$PIN\",\"tsp\":\"$TSP\"}" \
    | json 'data.tspToken')
echo "TSP token ${#TSP_TOKEN} characters"

echo "== Unlock the doors"
curl -sS -X PUT "$API/mps/v1/vehicles/$ACCOUNT/status/exterior/doors" \
    -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json;charset=UTF-8' \
    -H "x-user-id: $USER_ID" -H 'x-user-agent: mobile-ios' -H "x-app-uuid: $(python3 -c 'import uuid; print(uuid.uuid4())')" \
    -d "{\"tsp_token\":\"$TSP_TOKEN\",\"lock\":false,\"email\":\"$EMAIL\",\"vw_id\":\"$VW_ID\"}" | json 'data.command'

echo "== Climate settings"
curl -sS -X PUT "$API/mps/v1/vehicles/$ACCOUNT/status/climate/details" \
    -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json;charset=UTF-8' \
    -d "{\"tsp_token\":\"$TSP_TOKEN\",\"email\":\"$EMAIL\",\"vw_id\":\"$VW_ID\"}" | json 'data.target_temperature'
