"""Peerline: anonymous chat-based peer support."""
