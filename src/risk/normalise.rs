//! Contact data normalised as PROGRAMME-RULES.md says, so that two spellings of one phone,
//! address or email domain meet in one indexed key. Pure.

/// Full-width ASCII variants (U+FF01..U+FF5E) to ASCII, and the ideographic space to a space.
fn fold_width(c: char) -> char {
    match u32::from(c) {
        code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

/// Digits only, with a leading 852 (Hong Kong's country code) dropped; `None` when nothing is
/// left.
pub fn phone_key(phone: &str) -> Option<String> {
    let digits: String = phone
        .chars()
        .map(fold_width)
        .filter(char::is_ascii_digit)
        .collect();
    let local = match digits.strip_prefix("852") {
        Some(rest) if rest.len() >= 8 => rest.to_owned(),
        _ => digits,
    };
    (!local.is_empty()).then_some(local)
}

/// Lower-cased, full-width characters folded, punctuation dropped and spaces collapsed; `None`
/// when nothing is left.
pub fn address_key(address: &str) -> Option<String> {
    let cleaned: String = address
        .chars()
        .map(fold_width)
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect();
    let key = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    (!key.is_empty()).then_some(key)
}

/// Email domains anyone can sign up at: sharing one says nothing.
pub const PUBLIC_EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.com.hk",
    "ymail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.com.hk",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "netvigator.com",
    "biznetvigator.com",
    "protonmail.com",
    "proton.me",
    "aol.com",
    "gmx.com",
    "mail.com",
    "zoho.com",
];

/// Names reserved for testing and documentation (RFC 2606, RFC 6761): they never identify an
/// organisation, so sharing one links nobody.
fn reserved(domain: &str) -> bool {
    [".test", ".example", ".invalid", ".localhost"]
        .iter()
        .any(|tld| domain.ends_with(tld))
        || ["example.com", "example.net", "example.org"]
            .iter()
            .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
}

/// The lower-cased domain of `email`, unless it is a public email domain or a reserved one.
pub fn private_email_domain(email: &str) -> Option<String> {
    let domain = email.rsplit_once('@')?.1.trim().to_lowercase();
    let domain = domain.trim_end_matches('.').to_owned();
    (!domain.is_empty() && !PUBLIC_EMAIL_DOMAINS.contains(&domain.as_str()) && !reserved(&domain))
        .then_some(domain)
}

/// A person's name compared without case, spaces or punctuation (`Chan Tai-man` = `CHAN TAI MAN`).
pub fn name_key(name: &str) -> Option<String> {
    let key: String = name
        .chars()
        .map(fold_width)
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    (!key.is_empty()).then_some(key)
}

/// A payment reference split into what comes before its trailing number and that number:
/// `FPS-20260302-17` is (`FPS20260302`, 17). The prefix is compared as
/// `applications::routes::reference_key` compares references. `None` without a trailing number.
pub fn trailing_number(reference: &str) -> Option<(String, u64)> {
    let folded: String = reference.trim().chars().map(fold_width).collect();
    let digits_at = folded
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit())
        .last()
        .map(|(i, _)| i)?;
    let (prefix, digits) = folded.split_at(digits_at);
    // Very long digit runs are account numbers, not counters.
    let number = digits
        .get(digits.len().saturating_sub(18)..)?
        .parse()
        .ok()?;
    let prefix: String = prefix
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '/' | '.' | '_'))
        .flat_map(char::to_uppercase)
        .collect();
    Some((prefix, number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_keep_digits_and_drop_hong_kongs_code() {
        assert_eq!(phone_key("+852 2345 6789").as_deref(), Some("23456789"));
        assert_eq!(phone_key("(852) 2345-6789").as_deref(), Some("23456789"));
        assert_eq!(phone_key("２３４５６７８９").as_deref(), Some("23456789"));
        assert_eq!(phone_key("23456789").as_deref(), Some("23456789"));
        assert_eq!(
            phone_key("+44 20 7946 0958").as_deref(),
            Some("442079460958")
        );
        assert_eq!(phone_key("call me"), None);
    }

    #[test]
    fn addresses_fold_case_width_and_punctuation() {
        let a = address_key("Unit 1201, Cyberport 3,  Pok Fu Lam");
        let b = address_key("ＵＮＩＴ　1201 cyberport 3 - pok fu lam.");
        assert_eq!(a, b);
        assert_eq!(a.as_deref(), Some("unit 1201 cyberport 3 pok fu lam"));
        assert_eq!(
            address_key("灣仔道１號，地下"),
            Some("灣仔道1號 地下".to_owned())
        );
        assert_eq!(address_key(" ,.; "), None);
    }

    #[test]
    fn public_email_domains_are_not_a_link() {
        assert_eq!(
            private_email_domain("a@Shop.HK").as_deref(),
            Some("shop.hk")
        );
        assert_eq!(private_email_domain("a@gmail.com"), None);
        assert_eq!(private_email_domain("a@netvigator.com"), None);
        assert_eq!(private_email_domain("nobody"), None);
        assert_eq!(
            private_email_domain("a@load.dtspp.test"),
            None,
            "reserved for tests"
        );
        assert_eq!(private_email_domain("a@mail.example.org"), None);
    }

    #[test]
    fn references_split_at_their_trailing_number() {
        assert_eq!(
            trailing_number("FPS-20260302-17"),
            Some(("FPS20260302".into(), 17))
        );
        assert_eq!(
            trailing_number("fps 20260302 18"),
            Some(("FPS20260302".into(), 18))
        );
        assert_eq!(trailing_number("INV0003"), Some(("INV".into(), 3)));
        assert_eq!(trailing_number("REF-A"), None);
        assert_eq!(trailing_number("12"), Some((String::new(), 12)));
    }

    #[test]
    fn names_ignore_case_and_punctuation() {
        assert_eq!(name_key("Chan Tai-man"), name_key("CHAN TAI MAN"));
        assert_eq!(name_key("陳大文"), Some("陳大文".to_owned()));
    }
}
