//! The SSRF guard: which addresses a capture may connect to.
//!
//! Untrusted links must not make Vigil reach into the network it runs in (loopback services,
//! the office LAN, a cloud metadata endpoint). Every address is classified by [`classify`];
//! only [`AddressClass::Public`] is allowed unless the operator passes `--allow-private`.
//! The check runs on every resolved address of every hop ([`GuardedResolver`]) and on IP
//! literals in URLs ([`NetPolicy::check_url_host`]), since HTTP clients skip DNS for those.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use serde::Serialize;

/// What kind of network an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressClass {
    /// Globally routable unicast: the only class allowed by default.
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16) and deprecated IPv6 site-local.
    Private,
    /// fc00::/7.
    UniqueLocal,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// Cloud instance metadata services (169.254.169.254, 169.254.170.2, fd00:ec2::254).
    CloudMetadata,
    /// 100.64/10, carrier-grade NAT (also holds some cloud metadata services).
    SharedCgnat,
    /// 224/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32.
    Documentation,
    /// 198.18/15.
    Benchmarking,
    /// Anything else not globally routable (240/4, 192.0.0/24, 2001::/23, non-2000::/3 IPv6…).
    Reserved,
}

impl AddressClass {
    /// True only for globally routable unicast addresses.
    pub fn is_public(self) -> bool {
        self == AddressClass::Public
    }

    /// A short description for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private network",
            AddressClass::UniqueLocal => "unique-local (private) IPv6",
            AddressClass::LinkLocal => "link-local",
            AddressClass::CloudMetadata => "cloud metadata service",
            AddressClass::SharedCgnat => "carrier-grade NAT (100.64.0.0/10)",
            AddressClass::Multicast => "multicast",
            AddressClass::Broadcast => "broadcast",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Documentation => "documentation range",
            AddressClass::Benchmarking => "benchmarking range",
            AddressClass::Reserved => "reserved",
        }
    }
}

/// Classifies an address. IPv4 embedded in IPv6 (mapped, NAT64, 6to4) is judged as IPv4.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, d] = ip.octets();
    use AddressClass::*;
    match (a, b, c, d) {
        (0, 0, 0, 0) => Unspecified,
        (0, ..) => Unspecified,
        (10, ..) => Private,
        (100, 64..=127, ..) => SharedCgnat,
        (127, ..) => Loopback,
        (169, 254, 169, 254) | (169, 254, 170, 2) => CloudMetadata,
        (169, 254, ..) => LinkLocal,
        (172, 16..=31, ..) => Private,
        (192, 0, 0, _) => Reserved,
        (192, 0, 2, _) | (198, 51, 100, _) | (203, 0, 113, _) => Documentation,
        (192, 88, 99, _) => Reserved,
        (192, 168, ..) => Private,
        (198, 18..=19, ..) => Benchmarking,
        (224..=239, ..) => Multicast,
        (255, 255, 255, 255) => Broadcast,
        (240..=255, ..) => Reserved,
        _ => Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    if ip.is_unspecified() {
        return Unspecified;
    }
    if ip.is_loopback() {
        return Loopback;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return CloudMetadata;
    }
    match s {
        // ::/96, IPv4-compatible (deprecated): never used legitimately.
        [0, 0, 0, 0, 0, 0, _, _] => Reserved,
        // 64:ff9b::/96, NAT64: the IPv4 address decides.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => classify_v4(embedded_v4(hi, lo)),
        // 64:ff9b:1::/48, local-use NAT64.
        [0x64, 0xff9b, 1, ..] => Private,
        // 100::/64, discard-only.
        [0x100, 0, 0, 0, ..] => Reserved,
        // 2001:db8::/32.
        [0x2001, 0xdb8, ..] => Documentation,
        // 2001::/23, IETF protocol assignments (Teredo, ORCHID, …).
        [0x2001, 0x0000..=0x01ff, ..] => Reserved,
        // 2002::/16, 6to4: the embedded IPv4 address decides.
        [0x2002, hi, lo, ..] => classify_v4(embedded_v4(hi, lo)),
        [first, ..] if first & 0xfe00 == 0xfc00 => UniqueLocal,
        [first, ..] if first & 0xffc0 == 0xfe80 => LinkLocal,
        [first, ..] if first & 0xffc0 == 0xfec0 => Private,
        [first, ..] if first & 0xff00 == 0xff00 => Multicast,
        [first, ..] if first & 0xe000 == 0x2000 => Public,
        _ => Reserved,
    }
}

/// Why a connection was refused by the guard. Recognised in error chains by downcasting.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error(
    "refused to connect to {host} at {ip}: {} address (pass --allow-private to allow)",
    class.describe()
)]
pub struct Refusal {
    /// Host name or literal from the URL.
    pub host: String,
    /// The offending address.
    pub ip: IpAddr,
    /// Its class.
    pub class: AddressClass,
}

/// A DNS failure, kept apart from connection errors so captures can say which it was.
#[derive(Debug, thiserror::Error)]
#[error("could not resolve {host}: {message}")]
pub struct DnsFailure {
    /// The name looked up.
    pub host: String,
    /// What the resolver said.
    pub message: String,
}

/// Where captures may connect, and name overrides.
#[derive(Debug, Clone, Default)]
pub struct NetPolicy {
    /// Allow every address class (operator's explicit choice, e.g. for an intranet or tests).
    pub allow_private: bool,
    /// Host name → addresses, used instead of DNS (like curl's `--resolve`).
    pub resolve_overrides: HashMap<String, Vec<IpAddr>>,
    /// Addresses to treat as public: the test hook that lets a loopback test server play the
    /// part of a public host (set from [`TEST_HOOK_VAR`] by [`NetPolicy::with_test_hook`]).
    /// Debug builds only, which the end-to-end tests run: a release build has no such
    /// field, so nothing there (environment, configuration or code) can widen the guard
    /// this way.
    #[cfg(debug_assertions)]
    pub treat_as_public: Vec<IpAddr>,
}

/// The environment variable of the test hook: comma-separated addresses to treat as public.
/// Read by debug builds only.
pub const TEST_HOOK_VAR: &str = "VIGIL_TEST_TREAT_AS_PUBLIC";

impl NetPolicy {
    /// Adds the addresses of the test hook ([`TEST_HOOK_VAR`]). In a release build this
    /// changes nothing: the variable is ignored, with a warning when it is set.
    #[cfg_attr(not(debug_assertions), allow(unused_mut))]
    pub fn with_test_hook(mut self) -> Result<Self, String> {
        let value = std::env::var(TEST_HOOK_VAR).ok();
        let _addresses = test_hook_addresses(value.as_deref())?;
        #[cfg(debug_assertions)]
        self.treat_as_public.extend(_addresses);
        Ok(self)
    }

    /// How this policy is wider than the default guard, for the capture record: `None` when
    /// it is the default, else `{"allow_private": true}` (the operator's `--allow-private`)
    /// and, in debug builds, the test hook's addresses. A reader of a record must be able to
    /// tell that the guard was relaxed when it was made.
    pub fn relaxations(&self) -> Option<serde_json::Value> {
        let mut out = serde_json::Map::new();
        if self.allow_private {
            out.insert("allow_private".into(), true.into());
        }
        #[cfg(debug_assertions)]
        if !self.treat_as_public.is_empty() {
            let listed: Vec<String> = self.treat_as_public.iter().map(IpAddr::to_string).collect();
            out.insert("test_treat_as_public".into(), listed.into());
        }
        (!out.is_empty()).then_some(serde_json::Value::Object(out))
    }

    /// Whether the test hook makes `ip` public.
    #[cfg(debug_assertions)]
    fn treated_as_public(&self, ip: IpAddr) -> bool {
        self.treat_as_public.contains(&ip)
    }

    /// Never: a release build has no test hook.
    #[cfg(not(debug_assertions))]
    fn treated_as_public(&self, _ip: IpAddr) -> bool {
        false
    }

    /// Checks one resolved address for a host.
    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), Refusal> {
        let class = classify(ip);
        if self.allow_private || class.is_public() || self.treated_as_public(ip) {
            Ok(())
        } else {
            Err(Refusal {
                host: host.to_owned(),
                ip,
                class,
            })
        }
    }

    /// Checks a URL whose host is an IP literal (HTTP clients connect to those without DNS).
    /// Host names pass here and are checked when resolved.
    pub fn check_url_host(&self, url: &url::Url) -> Result<(), Refusal> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check(&ip.to_string(), IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(&ip.to_string(), IpAddr::V6(ip)),
            _ => Ok(()),
        }
    }

    /// Resolves a host name (overrides first, then the system resolver) and checks every
    /// answer: one forbidden address refuses the whole name, so a DNS answer that mixes a
    /// public and a private address cannot be used to reach the private one.
    pub async fn resolve(
        &self,
        host: &str,
    ) -> Result<Vec<IpAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let addrs: Vec<IpAddr> = match self.resolve_overrides.get(&host) {
            Some(list) => list.clone(),
            None => tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| DnsFailure {
                    host: host.clone(),
                    message: e.to_string(),
                })?
                .map(|sa| sa.ip())
                .collect(),
        };
        if addrs.is_empty() {
            return Err(Box::new(DnsFailure {
                host,
                message: "no addresses".into(),
            }));
        }
        for ip in &addrs {
            self.check(&host, *ip)?;
        }
        Ok(addrs)
    }
}

/// The addresses the test hook's variable lists; none in a release build, whatever it says.
fn test_hook_addresses(value: Option<&str>) -> Result<Vec<IpAddr>, String> {
    let Some(list) = value else {
        return Ok(Vec::new());
    };
    if !cfg!(debug_assertions) {
        tracing::warn!("{TEST_HOOK_VAR} is ignored: the test hook exists in debug builds only");
        return Ok(Vec::new());
    }
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            item.parse()
                .map_err(|_| format!("{TEST_HOOK_VAR}: {item:?} is not an IP address"))
        })
        .collect()
}

/// A `reqwest` resolver that applies a [`NetPolicy`] to every lookup.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<NetPolicy>,
}

impl GuardedResolver {
    /// Wraps a policy.
    pub fn new(policy: Arc<NetPolicy>) -> Self {
        GuardedResolver { policy }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = policy.resolve(&host).await?;
            let iter: reqwest::dns::Addrs =
                Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(iter)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        classify(s.parse().expect("address"))
    }

    #[test]
    fn classifies_the_ranges_an_attacker_would_aim_at() {
        use AddressClass::*;
        let table = [
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("169.254.169.254", CloudMetadata),
            ("169.254.170.2", CloudMetadata),
            ("169.254.1.1", LinkLocal),
            ("100.64.0.1", SharedCgnat),
            ("100.100.100.200", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("192.0.0.8", Reserved),
            ("192.0.2.1", Documentation),
            ("198.51.100.1", Documentation),
            ("203.0.113.1", Documentation),
            ("198.18.0.1", Benchmarking),
            ("::1", Loopback),
            ("::", Unspecified),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:169.254.169.254", CloudMetadata),
            ("::127.0.0.1", Reserved),
            ("64:ff9b::7f00:1", Loopback),
            ("64:ff9b::a9fe:a9fe", CloudMetadata),
            ("2002:7f00:1::", Loopback),
            ("2002:0a00:0001::1", Private),
            ("fe80::1", LinkLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fd00:ec2::254", CloudMetadata),
            ("fec0::1", Private),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("2001::1", Reserved),
            ("100::1", Reserved),
            ("4000::1", Reserved),
        ];
        for (addr, want) in table {
            assert_eq!(class(addr), want, "{addr}");
        }
    }

    /// The test hook is compiled into debug builds only: under `cargo test --release` this
    /// checks that a release build ignores the variable (before, it widened the guard there
    /// too); `NetPolicy::treat_as_public` does not even exist there.
    #[test]
    fn the_test_hook_exists_in_debug_builds_only() {
        let listed = test_hook_addresses(Some(" 127.0.0.2, ,::1")).expect("parses");
        if cfg!(debug_assertions) {
            let want: Vec<IpAddr> =
                vec!["127.0.0.2".parse().expect("ip"), "::1".parse().expect("ip")];
            assert_eq!(listed, want);
            assert!(test_hook_addresses(Some("nope")).is_err());
        } else {
            assert!(listed.is_empty(), "a release build must ignore the hook");
        }
        assert!(test_hook_addresses(None).expect("none").is_empty());
    }

    #[test]
    fn relaxations_are_reported_for_the_record() {
        assert_eq!(NetPolicy::default().relaxations(), None);
        let open = NetPolicy {
            allow_private: true,
            ..Default::default()
        };
        assert_eq!(
            open.relaxations(),
            Some(serde_json::json!({ "allow_private": true }))
        );
    }

    #[cfg(debug_assertions)]
    #[test]
    fn the_test_hook_lets_a_listed_address_pass() {
        let ip: IpAddr = "127.0.0.2".parse().expect("ip");
        let mut p = NetPolicy::default();
        assert!(p.check("h", ip).is_err());
        p.treat_as_public.push(ip);
        assert!(p.check("h", ip).is_ok());
        assert_eq!(
            p.relaxations(),
            Some(serde_json::json!({ "test_treat_as_public": ["127.0.0.2"] }))
        );
        assert!(p.check("h", "127.0.0.1".parse().expect("ip")).is_err());
    }

    #[test]
    fn public_addresses_pass() {
        for addr in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.255.255",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert_eq!(class(addr), AddressClass::Public, "{addr}");
        }
    }

    #[test]
    fn policy_refuses_unless_allowed() {
        let strict = NetPolicy::default();
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let err = strict.check("intranet", ip).expect_err("refused");
        assert_eq!(err.class, AddressClass::Private);
        assert!(err.to_string().contains("--allow-private"));
        let open = NetPolicy {
            allow_private: true,
            ..Default::default()
        };
        assert!(open.check("intranet", ip).is_ok());
    }

    #[test]
    fn literal_hosts_in_urls_are_checked() {
        let strict = NetPolicy::default();
        for u in [
            "http://127.0.0.1/",
            "http://[::1]:8080/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://[::ffff:7f00:1]/",
        ] {
            let url = url::Url::parse(u).expect("url");
            assert!(strict.check_url_host(&url).is_err(), "{u}");
        }
        // Decimal and hex spellings are normalised by the URL parser and still refused.
        for u in ["http://2130706433/", "http://0x7f.1/", "http://127.1/"] {
            let url = url::Url::parse(u).expect("url");
            assert!(strict.check_url_host(&url).is_err(), "{u}");
        }
        let name = url::Url::parse("http://example.org/").expect("url");
        assert!(strict.check_url_host(&name).is_ok());
    }

    #[tokio::test]
    async fn overrides_are_checked_and_one_bad_answer_refuses_the_name() {
        let mut policy = NetPolicy::default();
        policy.resolve_overrides.insert(
            "mixed.example".into(),
            vec![
                "8.8.8.8".parse().expect("ip"),
                "127.0.0.1".parse().expect("ip"),
            ],
        );
        policy.resolve_overrides.insert(
            "public.example".into(),
            vec!["8.8.8.8".parse().expect("ip")],
        );
        let err = policy.resolve("mixed.example").await.expect_err("refused");
        let refusal = err.downcast_ref::<Refusal>().expect("a refusal");
        assert_eq!(refusal.class, AddressClass::Loopback);
        // "localhost" goes through the system resolver and is refused too.
        assert!(policy.resolve("localhost").await.is_err());
        assert_eq!(
            policy.resolve("public.example.").await.expect("resolves"),
            vec!["8.8.8.8".parse::<IpAddr>().expect("ip")]
        );
    }
}
