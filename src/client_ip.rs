//! The client's IP address, as rate limits, the audit trail and risk indicators see it.
//!
//! A request's peer is the client unless the peer is one of the reverse proxies named in
//! `DTSPP_TRUSTED_PROXIES`. Then `X-Forwarded-For` is read from the right: each hop a trusted
//! proxy appended is skipped, and the first address no trusted proxy vouches for is the client.
//! Nothing a client writes into the header can move its address while it talks to us directly,
//! and behind trusted proxies it can only prepend entries that are never reached.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderName;
use ipnet::IpNet;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The networks whose connections may name the client in `X-Forwarded-For`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs (`10.0.0.0/8`) or single addresses
    /// (`127.0.0.1`, `::1`); an empty list trusts nobody.
    pub fn parse(s: &str) -> Result<TrustedProxies, String> {
        s.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("{part:?} is neither a CIDR such as 10.0.0.0/8 nor an IP address")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// Whether `ip` is one of the trusted proxies. An IPv4 address arriving as IPv6
    /// (`::ffff:10.0.0.1`) is compared as IPv4.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address, given the peer of the connection and the `X-Forwarded-For`
    /// header values in the order received. `None` only when the peer is unknown.
    pub fn client_ip<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> Option<IpAddr> {
        let peer = peer.map(|ip| ip.to_canonical())?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops: Vec<&str> = forwarded_for
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                // A trusted proxy never writes this; stop at the last address it vouched for.
                return Some(client);
            };
            client = ip;
            if !self.trusts(ip) {
                return Some(ip);
            }
        }
        Some(client)
    }

    /// The client's address for `req`, by [`TrustedProxies::client_ip`].
    pub fn of_request(&self, req: &HttpRequest) -> Option<IpAddr> {
        let values = req
            .headers()
            .get_all(X_FORWARDED_FOR)
            .filter_map(|v| v.to_str().ok());
        self.client_ip(req.peer_addr().map(|addr| addr.ip()), values)
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn client(proxies: &str, peer: &str, header: &[&str]) -> IpAddr {
        TrustedProxies::parse(proxies)
            .unwrap()
            .client_ip(Some(ip(peer)), header.iter().copied())
            .unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        assert_eq!(
            client("", "203.0.113.9", &["198.51.100.1"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            client("10.0.0.0/8", "203.0.113.9", &["198.51.100.1"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        assert_eq!(
            client("10.0.0.0/8", "10.0.0.2", &["198.51.100.1"]),
            ip("198.51.100.1")
        );
        // A client's forged entries sit to the left of its real address and are never reached.
        assert_eq!(
            client(
                "10.0.0.0/8",
                "10.0.0.2",
                &["1.1.1.1, 198.51.100.1, 10.0.0.7"]
            ),
            ip("198.51.100.1")
        );
        // Several header lines are one list, in order.
        assert_eq!(
            client("10.0.0.0/8", "10.0.0.2", &["1.1.1.1", "198.51.100.1"]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn odd_headers_fall_back_to_the_last_trusted_hop() {
        assert_eq!(client("10.0.0.0/8", "10.0.0.2", &[]), ip("10.0.0.2"));
        assert_eq!(
            client("10.0.0.0/8", "10.0.0.2", &["198.51.100.1, nonsense"]),
            ip("10.0.0.2")
        );
        assert_eq!(
            client("10.0.0.0/8", "10.0.0.2", &["10.0.0.3, 10.0.0.4"]),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn ports_ipv6_and_mapped_addresses_are_understood() {
        assert_eq!(
            client("127.0.0.1, ::1", "::ffff:127.0.0.1", &["198.51.100.1:4711"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client("::1", "::1", &["[2001:db8::5]:443"]),
            ip("2001:db8::5")
        );
    }

    #[test]
    fn a_bad_entry_in_the_setting_is_named() {
        let err = TrustedProxies::parse("10.0.0.0/8, proxy.local").unwrap_err();
        assert!(err.contains("proxy.local"), "{err}");
        assert_eq!(
            TrustedProxies::parse(" ").unwrap(),
            TrustedProxies::default()
        );
    }
}
