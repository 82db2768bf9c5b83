//! The vendor verification state machine: which admin decisions apply to which status.
//!
//! ```text
//! pending ──approve──▶ approved ──suspend──▶ suspended
//!    │                    ▲                      │
//!    └──reject──▶ rejected └───────approve───────┘ (reinstate)
//! ```

use crate::text_enum::text_enum;

text_enum! {
    /// Where a vendor stands with the programme.
    pub enum VendorStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
        Suspended => "suspended",
    }
}

/// An admin's decision about a vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VendorDecision {
    Approve,
    Reject,
    Suspend,
}

impl VendorDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            VendorDecision::Approve => "approve",
            VendorDecision::Reject => "reject",
            VendorDecision::Suspend => "suspend",
        }
    }

    /// The word for a vendor the decision was applied to.
    pub fn past_tense(self) -> &'static str {
        match self {
            VendorDecision::Approve => "approved",
            VendorDecision::Reject => "rejected",
            VendorDecision::Suspend => "suspended",
        }
    }

    /// Whether the decision must give its reason (the vendor is told it).
    pub fn needs_reason(self) -> bool {
        matches!(self, VendorDecision::Reject | VendorDecision::Suspend)
    }

    /// The audit action it records, e.g. `vendor.suspended`.
    pub fn audit_action(self, from: VendorStatus) -> &'static str {
        match (self, from) {
            (VendorDecision::Approve, VendorStatus::Suspended) => "vendor.reinstated",
            (VendorDecision::Approve, _) => "vendor.approved",
            (VendorDecision::Reject, _) => "vendor.rejected",
            (VendorDecision::Suspend, _) => "vendor.suspended",
        }
    }
}

/// The status `decision` leads to from `from`, or `None` when the decision does not apply.
pub fn next_status(from: VendorStatus, decision: VendorDecision) -> Option<VendorStatus> {
    use VendorDecision as D;
    use VendorStatus as S;
    match (from, decision) {
        (S::Pending | S::Suspended, D::Approve) => Some(S::Approved),
        (S::Pending, D::Reject) => Some(S::Rejected),
        (S::Approved, D::Suspend) => Some(S::Suspended),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use VendorDecision as D;
    use VendorStatus as S;

    #[test]
    fn only_the_drawn_transitions_are_allowed() {
        let allowed = [
            (S::Pending, D::Approve, S::Approved),
            (S::Pending, D::Reject, S::Rejected),
            (S::Approved, D::Suspend, S::Suspended),
            (S::Suspended, D::Approve, S::Approved),
        ];
        for &from in S::ALL {
            for decision in [D::Approve, D::Reject, D::Suspend] {
                let expected = allowed
                    .iter()
                    .find(|(f, d, _)| *f == from && *d == decision)
                    .map(|(_, _, to)| *to);
                assert_eq!(
                    next_status(from, decision),
                    expected,
                    "{from} + {decision:?}"
                );
            }
        }
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for &status in S::ALL {
            assert_eq!(status.as_str().parse::<S>(), Ok(status));
        }
        assert!("archived".parse::<S>().is_err());
    }
}
