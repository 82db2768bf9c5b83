//! Why a bundle ranks where it does, in English and Chinese. Pure.

use std::fmt::Write;

use crate::money::Money;

/// A need as the explanation names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedName {
    pub en: String,
    pub zh: String,
}

/// What one explanation needs to know of its bundle (and of the one ranked above it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub rank: usize,
    /// The needs it covers, by index into the needs as given.
    pub covered: Vec<usize>,
    pub subsidy: Money,
    pub sme_pays: Money,
}

/// An amount as people write it: `HK$48,200`, or `HK$48,200.50` when there are cents.
pub fn hkd(amount: Money) -> String {
    let cents = amount.cents();
    let (dollars, rest) = (cents / 100, cents % 100);
    let digits = dollars.to_string();
    let mut grouped = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(d);
    }
    if rest == 0 {
        format!("HK${grouped}")
    } else {
        format!("HK${grouped}.{rest:02}")
    }
}

/// Why `this` ranks below `above`, in English and Chinese: the first criterion that tells them
/// apart.
fn below(this: &Facts, above: &Facts) -> (String, String) {
    let r = above.rank;
    if this.covered.len() < above.covered.len() {
        (
            format!("ranks below #{r}, which covers more of your needs"),
            format!("排在第 {r} 位之後，因為該組合涵蓋更多你的需要"),
        )
    } else if this.covered != above.covered {
        (
            format!("ranks below #{r}, which covers needs you listed first"),
            format!("排在第 {r} 位之後，因為該組合涵蓋你較優先列出的需要"),
        )
    } else if this.subsidy < above.subsidy {
        (
            format!("ranks below #{r}, which uses more of your cap"),
            format!("排在第 {r} 位之後，因為該組合用到更多你的資助上限"),
        )
    } else if this.sme_pays > above.sme_pays {
        (
            format!("ranks below #{r}, for which you pay less"),
            format!("排在第 {r} 位之後，因為該組合你需付的較少"),
        )
    } else {
        (
            format!("ranks below #{r}, whose packages have been listed longer"),
            format!("排在第 {r} 位之後，因為該組合的方案上架較久"),
        )
    }
}

/// The bundle's explanation in English and in Chinese, e.g. "Covers 3 of 3 needs (… + …); uses
/// HK$48,200 of your HK$50,000 cap; you pay HK$48,200."
pub fn explain(
    this: &Facts,
    above: Option<&Facts>,
    needs: &[NeedName],
    cap: Money,
) -> (String, String) {
    let names_en: Vec<&str> = this.covered.iter().map(|&i| needs[i].en.as_str()).collect();
    let names_zh: Vec<&str> = this.covered.iter().map(|&i| needs[i].zh.as_str()).collect();
    let (k, n) = (this.covered.len(), needs.len());
    let word = if n == 1 { "need" } else { "needs" };
    let mut en = format!(
        "Covers {k} of {n} {word} ({}); uses {} of your {} cap; you pay {}",
        names_en.join(" + "),
        hkd(this.subsidy),
        hkd(cap),
        hkd(this.sme_pays),
    );
    let mut zh = format!(
        "涵蓋 {n} 項需要中的 {k} 項（{}）；使用你 {} 資助上限中的 {}；你需付 {}",
        names_zh.join("＋"),
        hkd(cap),
        hkd(this.subsidy),
        hkd(this.sme_pays),
    );
    match above {
        None => {
            en.push_str("; the best match for your needs and budget.");
            zh.push_str("；最切合你的需要和預算。");
        }
        Some(above) => {
            let (why_en, why_zh) = below(this, above);
            let _ = write!(en, "; {why_en}.");
            let _ = write!(zh, "；{why_zh}。");
        }
    }
    (en, zh)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(cents: i64) -> Money {
        Money::from_cents(cents).unwrap()
    }

    #[test]
    fn amounts_are_grouped_by_thousands_with_cents_only_when_there_are_any() {
        assert_eq!(hkd(money(0)), "HK$0");
        assert_eq!(hkd(money(95_000)), "HK$950");
        assert_eq!(hkd(money(4_820_000)), "HK$48,200");
        assert_eq!(hkd(money(4_820_050)), "HK$48,200.50");
        assert_eq!(hkd(money(100_000_000_000)), "HK$1,000,000,000");
    }

    #[test]
    fn the_first_bundle_says_what_it_covers_and_uses() {
        let needs = [
            NeedName {
                en: "e-payment/POS".into(),
                zh: "電子支付／銷售點".into(),
            },
            NeedName {
                en: "CRM".into(),
                zh: "客戶關係管理".into(),
            },
            NeedName {
                en: "online marketing".into(),
                zh: "網上推廣".into(),
            },
        ];
        let first = Facts {
            rank: 1,
            covered: vec![0, 1, 2],
            subsidy: money(4_820_000),
            sme_pays: money(4_820_000),
        };
        let (en, zh) = explain(&first, None, &needs, money(5_000_000));
        assert_eq!(
            en,
            "Covers 3 of 3 needs (e-payment/POS + CRM + online marketing); uses HK$48,200 of your \
             HK$50,000 cap; you pay HK$48,200; the best match for your needs and budget."
        );
        assert!(
            zh.starts_with("涵蓋 3 項需要中的 3 項（電子支付／銷售點＋客戶關係管理＋網上推廣）"),
            "{zh}"
        );
        assert!(
            zh.contains("使用你 HK$50,000 資助上限中的 HK$48,200"),
            "{zh}"
        );

        let second = Facts {
            rank: 2,
            covered: vec![0, 1, 2],
            subsidy: money(4_000_000),
            sme_pays: money(4_000_000),
        };
        let (en, zh) = explain(&second, Some(&first), &needs, money(5_000_000));
        assert!(
            en.ends_with("ranks below #1, which uses more of your cap."),
            "{en}"
        );
        assert!(
            zh.ends_with("排在第 1 位之後，因為該組合用到更多你的資助上限。"),
            "{zh}"
        );

        let third = Facts {
            rank: 3,
            covered: vec![0, 2],
            subsidy: money(4_000_000),
            sme_pays: money(1_000_000),
        };
        let (en, _) = explain(&third, Some(&second), &needs, money(5_000_000));
        assert!(
            en.starts_with("Covers 2 of 3 needs (e-payment/POS + online marketing)"),
            "{en}"
        );
        assert!(
            en.ends_with("ranks below #2, which covers more of your needs."),
            "{en}"
        );
    }
}
