"""Where the Car-Net app API lives and how its app introduces itself.

The configuration offers these as defaults, so a user can point the bridge elsewhere
(another region, the simulator) without the rest of the bridge knowing the values.
"""

API_BASE = "https://b-h-s.spr.us00.p.con-veh.net"
IDENTITY_BASE = "https://identity.na.vwgroup.io"
# The Car-Net iOS app's OAuth client and the redirect it registered.
CLIENT_ID = "2dae49f6-830b-4180-9af9-59dd0d060916@apps_vw-dilab_com"
REDIRECT_URI = "car-net:///oauth-callback"
USER_AGENT = "Car-Net/60 CFNetwork/1121.2.2 Darwin/19.3.0"
