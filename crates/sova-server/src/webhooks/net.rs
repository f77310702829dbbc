//! Where webhooks may go. A tenant chooses the URL, so without a check it could make Sova call into the operator's
//! own network (SSRF). Targets must be `http(s)` URLs whose host is a public address; names are checked at every
//! connection by the resolver (so a name that later resolves inward is refused too), literals before sending.
//! `--webhook-allow-private` lifts the rule for development.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` is a public unicast address: not loopback, private (RFC 1918, RFC 4193), link-local, shared
/// (RFC 6598), unspecified, multicast, broadcast, documentation, benchmarking or reserved. IPv4-mapped and
/// IPv4-compatible IPv6 addresses are judged as their IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x0064 && s[1] == 0xff9b)
        || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0))
}

/// What is wrong with `url` as a webhook target, in a sentence; `None` when it may be used.
pub fn url_problem(url: &str, allow_private: bool) -> Option<String> {
    if url.len() > 2048 {
        return Some("`url` must be at most 2048 characters".into());
    }
    let Ok(u) = reqwest::Url::parse(url) else {
        return Some("`url` must be an absolute http:// or https:// URL".into());
    };
    if !matches!(u.scheme(), "http" | "https") {
        return Some("`url` must use http:// or https://".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Some("`url` must not carry credentials; send them as `headers`".into());
    }
    let Some(host) = u.host() else {
        return Some("`url` must name a host".into());
    };
    if allow_private {
        return None;
    }
    let private = match host {
        url::Host::Ipv4(ip) => !is_public(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => !is_public(IpAddr::V6(ip)),
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost") || d.ends_with(".local") || d.ends_with(".internal")
        }
    };
    private.then(|| {
        "`url` points at a private, loopback or link-local address; webhooks go to public addresses only (an \
         operator may allow private targets with --webhook-allow-private)"
            .into()
    })
}

/// A resolver that answers only public addresses.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn private_targets_are_refused() {
        for bad in [
            "http://127.0.0.1:9/x",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:8080/",
            "http://api.localhost/",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            assert!(url_problem(bad, false).is_some(), "{bad} accepted");
        }
        for good in ["https://example.com/hooks", "http://93.184.216.34/x", "https://[2606:4700::1111]/"] {
            assert_eq!(url_problem(good, false), None, "{good} refused");
        }
        assert_eq!(url_problem("http://127.0.0.1:9/x", true), None, "allowed by the operator");
    }
}
