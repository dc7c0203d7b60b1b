"""The myVW app API generation (the Android myVW app's login, tokens and S-PIN session,
vehicles, reads and commands), which replaced the Car-Net app API."""
