"""The myVW app API generation (North America): the Android myVW app's login, tokens and
S-PIN session, vehicles, reads and commands with their outcomes."""
