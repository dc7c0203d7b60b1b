"""The application: command line, demo, health check, systemd notification."""
