"""Member clusters: connections, list+watch reflectors, the state they keep, health and capacity."""
