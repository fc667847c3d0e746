from ipaddress import ip_network

# Host bits set: CPython's import raises ValueError.
NETWORKS = [ip_network("10.0.0.1/8")]


def rule(event):
    return any(ip_network(event.get("ip")).subnet_of(n) for n in NETWORKS)
