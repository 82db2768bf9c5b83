use super::*;
use proptest::prelude::*;

fn t() -> Thresholds {
    Thresholds::default()
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

#[test]
fn every_indicator_has_its_rules_severity() {
    use Indicator::*;
    assert_eq!(PaymentReferenceReuse.severity(), Severity::High);
    assert_eq!(CeilingClustering.severity(), Severity::High);
    assert_eq!(VendorVelocity.severity(), Severity::Medium);
    assert_eq!(SharedContact.severity(), Severity::Medium);
    assert_eq!(VendorRelatedParty.severity(), Severity::High);
    assert_eq!(SharedOrigin.severity(), Severity::Medium);
    assert_eq!(SequentialPaymentReferences.severity(), Severity::High);
    assert_eq!(FastDelivery.severity(), Severity::Medium);
    assert_eq!(PaymentBeforeApproval.severity(), Severity::Low);
    assert_eq!(OfficerConcentration.severity(), Severity::Medium);
    assert!(!Severity::Low.holds() && Severity::Medium.holds() && Severity::High.holds());
}

#[test]
fn a_reused_reference_flags_both_applications() {
    assert!(payment_reference_reuse("a", &[], "FPS1").is_none());
    let hit = payment_reference_reuse("a", &["b".into()], "FPS1").unwrap();
    assert_eq!(hit.application_ids, ["a".to_owned(), "b".to_owned()].into());
    assert_eq!(hit.subject.id, "a");
}

fn costs(near: usize, far: usize) -> Vec<CostFact> {
    (0..near)
        .map(|i| CostFact {
            application_id: format!("n{i}"),
            eligible_cost_cents: 9_500_000,
            ceiling_cents: 10_000_000,
        })
        .chain((0..far).map(|i| CostFact {
            application_id: format!("f{i}"),
            eligible_cost_cents: 9_499_999,
            ceiling_cents: 10_000_000,
        }))
        .collect()
}

#[test]
fn ceiling_clustering_needs_twenty_and_eighty_percent_at_95() {
    assert!(
        ceiling_clustering(&t(), "v", &costs(19, 0)).is_none(),
        "19 are too few"
    );
    let hit = ceiling_clustering(&t(), "v", &costs(16, 4)).unwrap();
    assert_eq!(hit.application_ids.len(), 16, "only those at or above 95%");
    assert!(hit.application_ids.iter().all(|a| a.starts_with('n')));
    assert!(
        ceiling_clustering(&t(), "v", &costs(15, 5)).is_none(),
        "75% is below 80%"
    );
}

#[test]
fn quartiles_interpolate_like_r() {
    // R: quantile(c(1,2,3,4,5,6,7,8), c(.25,.5,.75)) = 2.75 4.5 6.25
    assert_eq!(
        quartiles(&[8, 1, 2, 3, 4, 5, 6, 7]),
        Some((2.75, 4.5, 6.25))
    );
    assert_eq!(quartiles(&[5]), Some((5.0, 5.0, 5.0)));
    assert_eq!(quartiles(&[]), None);
}

#[test]
fn velocity_uses_the_fence_or_the_floor() {
    let mut counts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in 0..20 {
        counts.insert(
            format!("v{v:02}"),
            (0..10).map(|i| format!("v{v}-{i}")).collect(),
        );
    }
    assert!(vendor_velocity(&t(), &counts).is_empty(), "everyone at 10");
    counts.insert("big".into(), (0..49).map(|i| format!("b{i}")).collect());
    assert!(
        vendor_velocity(&t(), &counts).is_empty(),
        "49 is below the floor of 50"
    );
    counts.insert("big".into(), (0..50).map(|i| format!("b{i}")).collect());
    let hits = vendor_velocity(&t(), &counts);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].subject.id, "big");
    assert_eq!(hits[0].application_ids.len(), 50);
    // Where peers are busy, the fence rises above the floor.
    let spread: BTreeMap<String, Vec<String>> = (0..8)
        .map(|v| {
            (
                format!("v{v}"),
                (0..(40 + v * 10)).map(|i| format!("{v}-{i}")).collect(),
            )
        })
        .collect();
    let counts: Vec<i64> = spread.values().map(|a| a.len() as i64).collect();
    let fence = velocity_fence(&t(), &counts);
    assert!(fence > 100.0, "{fence}");
    assert!(
        vendor_velocity(&t(), &spread).is_empty(),
        "110 is below Q3 + 3 IQR"
    );
}

fn smes(n: usize, with_apps: bool) -> Vec<SmeApplications> {
    (0..n)
        .map(|i| SmeApplications {
            sme_id: format!("s{i}"),
            application_ids: if with_apps {
                vec![format!("a{i}")]
            } else {
                vec![]
            },
        })
        .collect()
}

#[test]
fn shared_contact_needs_three_smes_and_an_application() {
    assert!(shared_contact(&t(), ContactKind::Phone, "23456789", &smes(2, true)).is_none());
    assert!(shared_contact(&t(), ContactKind::Phone, "23456789", &smes(3, false)).is_none());
    let hit = shared_contact(&t(), ContactKind::Address, "x", &smes(3, true)).unwrap();
    assert_eq!(hit.subject.id, "s0", "about the first to register");
    assert_eq!(hit.application_ids.len(), 3);
}

#[test]
fn related_parties_share_any_one_detail() {
    let vendor = Contact {
        br_number: Some("12345678".into()),
        phone_key: Some("23456789".into()),
        address_key: Some("unit 1 cyberport".into()),
        email_domain: Some("pos.hk".into()),
        name_key: Some("chantaiman".into()),
    };
    assert!(vendor_related_party("a", &Contact::default(), &vendor).is_none());
    let sme = Contact {
        phone_key: Some("23456789".into()),
        email_domain: Some("pos.hk".into()),
        ..Contact::default()
    };
    let hit = vendor_related_party("a", &sme, &vendor).unwrap();
    assert_eq!(
        hit.evidence["shared_with_vendor"],
        json!(["phone", "email_domain"])
    );
}

fn origin(sme: &str, at_: &str) -> OriginFact {
    OriginFact {
        sme_id: sme.into(),
        application_id: format!("app-{sme}"),
        at: at(at_),
    }
}

#[test]
fn shared_origin_counts_accounts_within_seven_days() {
    let spread = [
        origin("a", "2026-01-01 10:00"),
        origin("b", "2026-01-05 10:00"),
        origin("c", "2026-01-09 10:00"),
    ];
    assert!(
        shared_origin(&t(), "v", "1.2.3.4", &spread).is_none(),
        "8 days apart"
    );
    let close = [
        origin("a", "2026-01-01 10:00"),
        origin("a", "2026-01-02 10:00"),
        origin("b", "2026-01-05 10:00"),
        origin("c", "2026-01-08 10:00"),
    ];
    let hit = shared_origin(&t(), "v", "1.2.3.4", &close).unwrap();
    assert_eq!(hit.application_ids.len(), 3);
    assert!(
        shared_origin(&t(), "v", "127.0.0.1", &close).is_none(),
        "loopback says nothing"
    );
    let two = [
        origin("a", "2026-01-01 10:00"),
        origin("a", "2026-01-01 11:00"),
        origin("b", "2026-01-01 12:00"),
    ];
    assert!(
        shared_origin(&t(), "v", "1.2.3.4", &two).is_none(),
        "two accounts"
    );
}

fn reference(sme: &str, r: &str) -> ReferenceFact {
    ReferenceFact {
        application_id: format!("app-{sme}"),
        sme_id: sme.into(),
        reference: r.into(),
    }
}

#[test]
fn sequential_references_are_caught_and_random_ones_are_not() {
    let ring = [
        reference("a", "FPS-20260302-101"),
        reference("b", "FPS-20260302-104"),
        reference("c", "fps 20260302 119"),
        reference("d", "FPS-20260302-180"),
    ];
    let hit = sequential_payment_references(&t(), "v", &ring).unwrap();
    assert_eq!(
        hit.application_ids,
        ["app-a", "app-b", "app-c"].map(String::from).into()
    );
    let honest = [
        reference("a", "FPS-849201734"),
        reference("b", "FPS-120398475"),
        reference("c", "HSBC 5512 9913"),
    ];
    assert!(sequential_payment_references(&t(), "v", &honest).is_none());
    let one_sme = [
        reference("a", "R1"),
        reference("a", "R2"),
        reference("b", "R3"),
    ];
    assert!(
        sequential_payment_references(&t(), "v", &one_sme).is_none(),
        "two SMEs"
    );
}

#[test]
fn fast_delivery_and_early_payment() {
    let approved = d("2026-03-01");
    assert!(fast_delivery(&t(), "a", approved, d("2026-03-03"), 14).is_some());
    assert!(fast_delivery(&t(), "a", approved, d("2026-03-04"), 14).is_none());
    assert!(
        fast_delivery(&t(), "a", approved, d("2026-03-01"), 13).is_none(),
        "a quick package"
    );
    assert!(payment_before_approval("a", d("2026-02-28"), approved).is_some());
    assert!(payment_before_approval("a", approved, approved).is_none());
}

fn approvals(by: &[(&str, usize)]) -> Vec<ApprovalFact> {
    by.iter()
        .flat_map(|(admin, n)| {
            (0..*n).map(move |i| ApprovalFact {
                admin_id: (*admin).into(),
                application_id: format!("{admin}-{i}"),
            })
        })
        .collect()
}

#[test]
fn officer_concentration_needs_volume_share_and_peers() {
    let hit = officer_concentration(&t(), "v", &approvals(&[("x", 16), ("y", 4)]), 3).unwrap();
    assert_eq!(hit.evidence["admin_id"], "x");
    assert_eq!(hit.application_ids.len(), 16);
    assert!(
        officer_concentration(&t(), "v", &approvals(&[("x", 16), ("y", 4)]), 2).is_none(),
        "two admins in all"
    );
    assert!(
        officer_concentration(&t(), "v", &approvals(&[("x", 15), ("y", 4)]), 3).is_none(),
        "19 approvals"
    );
    assert!(
        officer_concentration(&t(), "v", &approvals(&[("x", 15), ("y", 5)]), 3).is_none(),
        "75%"
    );
}

proptest! {
    /// Quartiles are ordered, within the data, and do not depend on its order.
    #[test]
    fn quartiles_are_ordered_and_bounded(mut v in proptest::collection::vec(0i64..10_000, 1..200)) {
        let (q1, m, q3) = quartiles(&v).unwrap();
        let (lo, hi) = (*v.iter().min().unwrap() as f64, *v.iter().max().unwrap() as f64);
        prop_assert!(lo <= q1 && q1 <= m && m <= q3 && q3 <= hi);
        v.reverse();
        prop_assert_eq!(quartiles(&v), Some((q1, m, q3)));
    }

    /// The fence is never below the floor, and a vendor at the fence is flagged while one below
    /// it is not.
    #[test]
    fn the_fence_separates_flagged_from_unflagged(counts in proptest::collection::vec(1usize..120, 1..40)) {
        let map: BTreeMap<String, Vec<String>> = counts.iter().enumerate()
            .map(|(i, n)| (format!("v{i:03}"), (0..*n).map(|j| format!("{i}-{j}")).collect()))
            .collect();
        let fence = velocity_fence(&t(), &counts.iter().map(|&n| n as i64).collect::<Vec<_>>());
        prop_assert!(fence >= 50.0);
        let flagged: BTreeSet<String> = vendor_velocity(&t(), &map).into_iter().map(|h| h.subject.id).collect();
        for (vendor, apps) in &map {
            prop_assert_eq!(flagged.contains(vendor), apps.len() as f64 >= fence);
        }
    }
}

#[test]
fn an_application_joining_an_open_flag_keeps_its_evidence_and_adds_its_sme_once() {
    let subject = Subject {
        kind: SubjectType::Sme,
        id: "s1".into(),
    };
    let evidence = json!({"shared": "phone", "key": "28110000", "sme_ids": ["s1", "s2", "s3"]});
    let hit = joining_open_flag(
        Indicator::SharedContact,
        subject.clone(),
        "a9",
        Some("s4"),
        evidence.clone(),
    );
    assert_eq!(hit.indicator, Indicator::SharedContact);
    assert_eq!(hit.subject.id, "s1");
    assert_eq!(hit.application_ids, BTreeSet::from(["a9".to_owned()]));
    assert_eq!(hit.evidence["sme_ids"], json!(["s1", "s2", "s3", "s4"]));
    assert_eq!(hit.evidence["key"], "28110000");
    let again = joining_open_flag(
        Indicator::SharedContact,
        subject,
        "a10",
        Some("s2"),
        evidence,
    );
    assert_eq!(
        again.evidence["sme_ids"],
        json!(["s1", "s2", "s3"]),
        "listed once"
    );
    let vendor = Subject {
        kind: SubjectType::Vendor,
        id: "v1".into(),
    };
    let counts = json!({"live_applications": 40, "at_or_near_ceiling": 38});
    let joined = joining_open_flag(
        Indicator::CeilingClustering,
        vendor,
        "a11",
        None,
        counts.clone(),
    );
    assert_eq!(joined.evidence, counts);
}
