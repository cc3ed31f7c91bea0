"""Networking: bridge driver, IPAM, netlink, nftables, port publishing, embedded DNS."""
