//! The application state machine, pure: which action may move which status where, and what
//! it does to the money. [`super::transitions::perform`] is the one place it is applied.

use crate::text_enum::text_enum;

text_enum! {
    /// Where an application is in its lifecycle.
    pub enum Status {
        Reserved => "reserved",
        Waitlisted => "waitlisted",
        Approved => "approved",
        Rejected => "rejected",
        Withdrawn => "withdrawn",
        Expired => "expired",
        Delivered => "delivered",
        DeliveryConfirmed => "delivery_confirmed",
        ClaimVerified => "claim_verified",
        Disbursed => "disbursed",
    }
}

impl Status {
    /// The statuses that hold no money: released for good.
    pub const RELEASED: [Status; 3] = [Status::Rejected, Status::Withdrawn, Status::Expired];

    /// The statuses whose subsidy the budget and the batch hold (reserved, committed or
    /// disbursed).
    pub const HOLDING_MONEY: [Status; 6] = [
        Status::Reserved,
        Status::Approved,
        Status::Delivered,
        Status::DeliveryConfirmed,
        Status::ClaimVerified,
        Status::Disbursed,
    ];

    /// Where the application's subsidy sits in the budget.
    pub fn bucket(self) -> Holding {
        match self {
            Status::Reserved => Holding::Reserved,
            Status::Approved
            | Status::Delivered
            | Status::DeliveryConfirmed
            | Status::ClaimVerified => Holding::Committed,
            Status::Disbursed => Holding::Disbursed,
            Status::Waitlisted => Holding::CapOnly,
            Status::Rejected | Status::Withdrawn | Status::Expired => Holding::Nothing,
        }
    }
}

/// What an application's subsidy holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// Nothing: released or never funded.
    Nothing,
    /// The SME's cap only (waiting for budget).
    CapOnly,
    Reserved,
    Committed,
    Disbursed,
}

/// Everything that can happen to an application after it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The system: money was released and this waitlisted application is next.
    Promote,
    Approve,
    Reject,
    Withdraw,
    /// The system: approved and past the implementation deadline.
    Expire,
    Deliver,
    ConfirmDelivery,
    VerifyClaim,
    Disburse,
}

impl Action {
    /// Whether the step moves the application towards paying its vendor: such steps wait while
    /// the vendor or the package is suspended. Releases (reject, withdraw, expire) never wait.
    pub fn pays_the_vendor(self) -> bool {
        match self {
            Action::Promote
            | Action::Approve
            | Action::Deliver
            | Action::ConfirmDelivery
            | Action::VerifyClaim
            | Action::Disburse => true,
            Action::Reject | Action::Withdraw | Action::Expire => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Promote => "promote",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Withdraw => "withdraw",
            Action::Expire => "expire",
            Action::Deliver => "deliver",
            Action::ConfirmDelivery => "confirm_delivery",
            Action::VerifyClaim => "verify_claim",
            Action::Disburse => "disburse",
        }
    }
}

/// What a step does to the money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Money {
    /// Nothing moves.
    Stays,
    /// Available to reserved (and the batch quota): a promotion, funded by the caller first.
    Reserve,
    /// Reserved to committed.
    Commit,
    /// Committed to disbursed.
    Disburse,
    /// Back to available and to the SME's cap, from wherever it was held.
    Release(Holding),
}

/// An allowed step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub to: Status,
    pub money: Money,
}

/// A step the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("An application that is {from} cannot {}.", action.as_str().replace('_', " "))]
pub struct NotAllowed {
    pub from: Status,
    pub action: Action,
}

/// The step `action` takes from `from`, or why it is not allowed.
pub fn step(from: Status, action: Action) -> Result<Step, NotAllowed> {
    use Status::*;
    let to = match (action, from) {
        (Action::Promote, Waitlisted) => Reserved,
        (Action::Approve, Reserved) => Approved,
        (
            Action::Reject,
            Reserved | Waitlisted | Approved | Delivered | DeliveryConfirmed | ClaimVerified,
        ) => Rejected,
        (
            Action::Withdraw,
            Reserved | Waitlisted | Approved | Delivered | DeliveryConfirmed | ClaimVerified,
        ) => Withdrawn,
        (Action::Expire, Approved) => Expired,
        (Action::Deliver, Approved) => Delivered,
        (Action::ConfirmDelivery, Delivered) => DeliveryConfirmed,
        (Action::VerifyClaim, DeliveryConfirmed) => ClaimVerified,
        (Action::Disburse, ClaimVerified) => Disbursed,
        _ => return Err(NotAllowed { from, action }),
    };
    let money = match action {
        Action::Promote => Money::Reserve,
        Action::Approve => Money::Commit,
        Action::Disburse => Money::Disburse,
        Action::Reject | Action::Withdraw | Action::Expire => Money::Release(from.bucket()),
        Action::Deliver | Action::ConfirmDelivery | Action::VerifyClaim => Money::Stays,
    };
    Ok(Step { to, money })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIONS: [Action; 9] = [
        Action::Promote,
        Action::Approve,
        Action::Reject,
        Action::Withdraw,
        Action::Expire,
        Action::Deliver,
        Action::ConfirmDelivery,
        Action::VerifyClaim,
        Action::Disburse,
    ];

    #[test]
    fn the_happy_path_ends_disbursed() {
        let mut status = Status::Waitlisted;
        for action in [
            Action::Promote,
            Action::Approve,
            Action::Deliver,
            Action::ConfirmDelivery,
            Action::VerifyClaim,
            Action::Disburse,
        ] {
            status = step(status, action).unwrap().to;
        }
        assert_eq!(status, Status::Disbursed);
    }

    #[test]
    fn closed_applications_never_move_again() {
        for from in [
            Status::Rejected,
            Status::Withdrawn,
            Status::Expired,
            Status::Disbursed,
        ] {
            for action in ACTIONS {
                assert!(step(from, action).is_err(), "{from} {action:?}");
            }
        }
    }

    #[test]
    fn the_named_sets_of_statuses_agree_with_the_buckets() {
        for &status in Status::ALL {
            let held = matches!(
                status.bucket(),
                Holding::Reserved | Holding::Committed | Holding::Disbursed
            );
            assert_eq!(Status::HOLDING_MONEY.contains(&status), held, "{status}");
            assert_eq!(
                Status::RELEASED.contains(&status),
                status.bucket() == Holding::Nothing,
                "{status}"
            );
        }
    }

    #[test]
    fn releases_give_back_exactly_what_was_held() {
        for &from in Status::ALL {
            for action in [Action::Reject, Action::Withdraw, Action::Expire] {
                if let Ok(s) = step(from, action) {
                    assert_eq!(s.money, Money::Release(from.bucket()));
                    assert_eq!(s.to.bucket(), Holding::Nothing);
                    assert!(from.bucket() != Holding::Disbursed);
                }
            }
        }
    }

    #[test]
    fn money_moves_match_the_buckets_of_both_ends() {
        for &from in Status::ALL {
            for action in ACTIONS {
                let Ok(s) = step(from, action) else { continue };
                let (a, b) = (from.bucket(), s.to.bucket());
                match s.money {
                    Money::Stays => assert_eq!(a, b, "{from} {action:?}"),
                    Money::Reserve => assert_eq!((a, b), (Holding::CapOnly, Holding::Reserved)),
                    Money::Commit => assert_eq!((a, b), (Holding::Reserved, Holding::Committed)),
                    Money::Disburse => assert_eq!((a, b), (Holding::Committed, Holding::Disbursed)),
                    Money::Release(h) => assert_eq!((a, b), (h, Holding::Nothing)),
                }
            }
        }
    }

    #[test]
    fn only_approved_applications_expire_and_only_the_system_promotes() {
        for &from in Status::ALL {
            assert_eq!(step(from, Action::Expire).is_ok(), from == Status::Approved);
            assert_eq!(
                step(from, Action::Promote).is_ok(),
                from == Status::Waitlisted
            );
        }
    }
}
