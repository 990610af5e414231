//! The address a request comes from. Behind a load balancer every peer is
//! the balancer, so the sign-in limit would count all clients as one and the
//! audit log would name the balancer. When the peer is a proxy the
//! configuration trusts (`trusted_proxies`), the client is the nearest
//! address in `X-Forwarded-For` that is not itself a trusted proxy. Nothing
//! else believes that header: a client cannot choose the address its
//! attempts are counted under.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The client's address, after trusted proxies (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Addresses and ranges of the proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// Each entry an address (`10.0.0.5`, `::1`) or a range (`10.0.0.0/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.as_ref().trim();
                // Peers are compared in canonical form (an IPv4-mapped
                // address as IPv4), so single addresses are stored so too.
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(|ip| IpNet::from(ip.to_canonical())))
                    .map_err(|_| {
                        format!("trusted_proxies: {e:?} is neither an address nor a range like 10.0.0.0/8")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|nets| TrustedProxies(nets.into()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// The client behind `peer`, given the `X-Forwarded-For` hops in the order
/// they were written (the client's first, the last proxy's last). Walks
/// back from the peer while the address is a trusted proxy; a hop that is
/// not an address ends the walk at the last address known to be true.
pub fn client_addr(peer: IpAddr, hops: &[&str], trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    for hop in hops.iter().rev() {
        if !trusted.trusts(client) {
            break;
        }
        match parse_hop(hop) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    client
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// Middleware: records the request's [`ClientAddr`].
pub async fn resolve(
    State(trusted): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(peer) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    {
        let addr = if trusted.is_empty() {
            peer.to_canonical()
        } else {
            let hops: Vec<&str> = request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .collect();
            client_addr(peer, &hops, &trusted)
        };
        request.extensions_mut().insert(ClientAddr(addr));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn lb() -> TrustedProxies {
        TrustedProxies::parse(&["10.0.0.0/8", "::1"]).unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let c = client_addr(ip("203.0.113.9"), &["1.2.3.4"], &lb());
        assert_eq!(c, ip("203.0.113.9"));
        let none = TrustedProxies::default();
        assert_eq!(
            client_addr(ip("10.0.0.1"), &["1.2.3.4"], &none),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_trusted_proxy_forwards_the_client() {
        assert_eq!(
            client_addr(ip("10.0.0.1"), &["198.51.100.7"], &lb()),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_addr(ip("::1"), &[" 198.51.100.7:5123 "], &lb()),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_forged_first_hop_is_not_believed() {
        // The client wrote "1.2.3.4" itself; the proxy appended its real address.
        let c = client_addr(ip("10.0.0.1"), &["1.2.3.4", "198.51.100.7"], &lb());
        assert_eq!(c, ip("198.51.100.7"));
    }

    #[test]
    fn chains_of_trusted_proxies_are_walked() {
        let c = client_addr(ip("10.0.0.1"), &["198.51.100.7", "10.0.0.2"], &lb());
        assert_eq!(c, ip("198.51.100.7"));
        // Everyone trusted: the farthest address known.
        let c = client_addr(ip("10.0.0.1"), &["10.0.0.3", "10.0.0.2"], &lb());
        assert_eq!(c, ip("10.0.0.3"));
    }

    #[test]
    fn garbage_ends_the_walk_at_the_last_true_address() {
        let c = client_addr(ip("10.0.0.1"), &["unknown"], &lb());
        assert_eq!(c, ip("10.0.0.1"));
        let c = client_addr(
            ip("10.0.0.1"),
            &["198.51.100.7", "nonsense", "10.0.0.2"],
            &lb(),
        );
        assert_eq!(c, ip("10.0.0.2"));
    }

    #[test]
    fn mapped_addresses_match_their_ipv4_ranges() {
        let c = client_addr(ip("::ffff:10.0.0.1"), &["198.51.100.7"], &lb());
        assert_eq!(c, ip("198.51.100.7"));
        let mapped = TrustedProxies::parse(&["::ffff:192.0.2.1"]).unwrap();
        let c = client_addr(ip("192.0.2.1"), &["198.51.100.7"], &mapped);
        assert_eq!(c, ip("198.51.100.7"));
    }

    #[test]
    fn bad_entries_are_refused_by_name() {
        let e = TrustedProxies::parse(&["10.0.0.0/8", "proxy.local"]).unwrap_err();
        assert!(e.contains("proxy.local"), "{e}");
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
    }

    proptest! {
        /// Whatever a client writes in the header, the answer is the peer
        /// or an address a trusted proxy put there: never a forged hop
        /// beyond the first untrusted address.
        #[test]
        fn the_answer_is_the_first_untrusted_hop_from_the_right(
            forged in proptest::collection::vec(any::<u32>(), 0..4),
            client in any::<u32>(),
            proxies in proptest::collection::vec(0u32..1 << 24, 0..4),
        ) {
            let trusted = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
            let untrusted = |n: u32| {
                let ip = std::net::Ipv4Addr::from(n);
                if ip.octets()[0] == 10 { std::net::Ipv4Addr::new(11, 0, 0, 1) } else { ip }
            };
            let client = untrusted(client);
            let mut hops: Vec<String> = forged.iter().map(|n| std::net::Ipv4Addr::from(*n).to_string()).collect();
            hops.push(client.to_string());
            let mut chain: Vec<String> = proxies.iter().map(|n| std::net::Ipv4Addr::from((10 << 24) | n).to_string()).collect();
            hops.append(&mut chain);
            let refs: Vec<&str> = hops.iter().map(String::as_str).collect();
            prop_assert_eq!(client_addr(ip("10.9.9.9"), &refs, &trusted), IpAddr::V4(client));
        }
    }
}
