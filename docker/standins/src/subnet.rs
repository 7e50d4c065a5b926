//! `rpcallowip` entries: a single address, `a.b.c.d/len` or `a.b.c.d/mask`,
//! as komodod's CSubNet accepts them (IPv4; `::1` for IPv6 loopback).

use std::net::{IpAddr, Ipv4Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    network: u32,
    mask: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSubnet(pub String);

impl std::fmt::Display for BadSubnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid rpcallowip subnet specification: {:?}", self.0)
    }
}

impl Subnet {
    pub fn parse(spec: &str) -> Result<Subnet, BadSubnet> {
        let bad = || BadSubnet(spec.to_string());
        let (addr, mask) = match spec.split_once('/') {
            None => (spec, u32::MAX),
            Some((addr, m)) => {
                let mask = if let Ok(len) = m.parse::<u32>() {
                    if len > 32 {
                        return Err(bad());
                    }
                    u32::MAX.checked_shl(32 - len).unwrap_or(0)
                } else {
                    u32::from(m.parse::<Ipv4Addr>().map_err(|_| bad())?)
                };
                (addr, mask)
            }
        };
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        Ok(Subnet {
            network: u32::from(addr) & mask,
            mask,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match ipv4_of(ip) {
            Some(v4) => u32::from(v4) & self.mask == self.network,
            None => false,
        }
    }
}

/// IPv4 addresses, including IPv4-mapped IPv6 ones (a dual-stack socket).
fn ipv4_of(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

/// komodod always admits 127.0.0.0/8 and ::1, whatever rpcallowip says.
pub fn is_loopback(ip: IpAddr) -> bool {
    ip == IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
        || ipv4_of(ip).is_some_and(|v4| v4.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn single_cidr_and_mask_forms() {
        assert!(
            Subnet::parse("172.18.0.5")
                .unwrap()
                .contains(ip("172.18.0.5"))
        );
        assert!(
            !Subnet::parse("172.18.0.5")
                .unwrap()
                .contains(ip("172.18.0.6"))
        );
        let s = Subnet::parse("172.16.0.0/12").unwrap();
        assert!(s.contains(ip("172.31.255.1")) && !s.contains(ip("172.32.0.1")));
        assert!(
            Subnet::parse("10.0.0.0/255.0.0.0")
                .unwrap()
                .contains(ip("10.9.8.7"))
        );
        assert!(Subnet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Subnet::parse("10.0.0.0/33").is_err());
        assert!(Subnet::parse("ten").is_err());
    }
}
