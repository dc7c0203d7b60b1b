"""The MQTT side: link, topics, publishing, discovery, results and events."""
