"""The privacy team's console: users with roles, password and TOTP sign-in, sessions, lock-out.

The web pages are in :mod:`troth.web.admin`; ``troth user`` manages the users.
"""
