"""The ticket kiosk (自助取号机) front end.

Talks to the server over HTTP and Socket.IO only, authenticated by its registered device
token; it receives masked data only.
"""
