"""The myVW app API generation (North America): its login, vehicles, reads and commands."""
