//! The package review state machine.
//!
//! A package has a status, a current revision (what the vendor edits and admins review) and,
//! once approved, a live revision (what the catalogue shows). Editing a listed package opens a
//! new revision; the live one stays listed, unchanged, until the new one is approved.
//!
//! ```text
//! draft ─submit─▶ submitted ─approve─▶ listed ─suspend─▶ suspended ─approve─▶ listed
//!   ▲                │  │                 │ edit: new revision, reviewed on its own
//!   └─changes_requested◀┘  └─reject─▶ rejected
//! any but rejected ─withdraw─▶ withdrawn
//! ```

use crate::text_enum::text_enum;

text_enum! {
    /// Where a package stands.
    pub enum PackageStatus {
        Draft => "draft",
        Submitted => "submitted",
        ChangesRequested => "changes_requested",
        Listed => "listed",
        Rejected => "rejected",
        Suspended => "suspended",
        Withdrawn => "withdrawn",
    }
}

text_enum! {
    /// Where one revision stands.
    pub enum RevisionStatus {
        Draft => "draft",
        Submitted => "submitted",
        ChangesRequested => "changes_requested",
        Approved => "approved",
        Rejected => "rejected",
        /// Was live; replaced by a newer approved revision.
        Superseded => "superseded",
    }
}

/// Something a vendor or an admin does to a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Vendor: change the content.
    Edit,
    /// Vendor: send the current revision for review.
    Submit,
    /// Vendor: take the package off the programme for good.
    Withdraw,
    /// Admin: list the submitted revision, or reinstate a suspended package.
    Approve,
    /// Admin: return the submitted revision to the vendor.
    RequestChanges,
    /// Admin: refuse the submitted revision.
    Reject,
    /// Admin: take a listed package out of the catalogue.
    Suspend,
}

impl Action {
    /// The name used in the review history and the audit trail, e.g. `request_changes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Edit => "edit",
            Action::Submit => "submit",
            Action::Withdraw => "withdraw",
            Action::Approve => "approve",
            Action::RequestChanges => "request_changes",
            Action::Reject => "reject",
            Action::Suspend => "suspend",
        }
    }

    /// Whether an admin must explain the action to the vendor.
    pub fn needs_comment(self) -> bool {
        matches!(
            self,
            Action::RequestChanges | Action::Reject | Action::Suspend
        )
    }
}

/// A package's state as the machine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub package: PackageStatus,
    pub revision: RevisionStatus,
    /// Whether the current revision is the live one.
    pub current_is_live: bool,
    pub has_live: bool,
}

/// What an allowed action changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub package: PackageStatus,
    /// The current revision's new status.
    pub revision: RevisionStatus,
    /// Edit: the change goes into a new draft revision (the current one is live).
    pub new_revision: bool,
    /// Approve: the current revision becomes live, superseding the old live one.
    pub goes_live: bool,
    /// Reject of an edit: the live revision becomes current again.
    pub back_to_live: bool,
}

impl Outcome {
    fn to(package: PackageStatus, revision: RevisionStatus) -> Outcome {
        Outcome {
            package,
            revision,
            new_revision: false,
            goes_live: false,
            back_to_live: false,
        }
    }
}

/// Applies `action` to `state`: the outcome, or why the action does not apply now.
pub fn apply(state: State, action: Action) -> Result<Outcome, String> {
    use PackageStatus as P;
    use RevisionStatus as R;
    let pending = matches!(state.revision, R::Draft | R::ChangesRequested);
    let listed_or_new = |r| {
        if state.has_live {
            Outcome::to(P::Listed, r)
        } else {
            Outcome::to(P::ChangesRequested, r)
        }
    };
    let outcome = match (action, state.package) {
        (Action::Edit, P::Draft | P::ChangesRequested) if pending => {
            Outcome::to(state.package, state.revision)
        }
        (Action::Edit, P::Listed) if state.current_is_live => Outcome {
            new_revision: true,
            ..Outcome::to(P::Listed, R::Draft)
        },
        (Action::Edit, P::Listed) if pending => Outcome::to(P::Listed, state.revision),
        (Action::Submit, P::Draft | P::ChangesRequested) if pending => {
            Outcome::to(P::Submitted, R::Submitted)
        }
        (Action::Submit, P::Listed) if pending && !state.current_is_live => {
            Outcome::to(P::Listed, R::Submitted)
        }
        (
            Action::Withdraw,
            P::Draft | P::Submitted | P::ChangesRequested | P::Listed | P::Suspended,
        ) => Outcome::to(P::Withdrawn, state.revision),
        (Action::Approve, P::Suspended) => Outcome::to(P::Listed, state.revision),
        (Action::Approve, P::Submitted | P::Listed) if state.revision == R::Submitted => Outcome {
            goes_live: true,
            ..Outcome::to(P::Listed, R::Approved)
        },
        (Action::RequestChanges, P::Submitted | P::Listed) if state.revision == R::Submitted => {
            listed_or_new(R::ChangesRequested)
        }
        (Action::Reject, P::Submitted) if state.revision == R::Submitted => {
            Outcome::to(P::Rejected, R::Rejected)
        }
        (Action::Reject, P::Listed) if state.revision == R::Submitted => Outcome {
            back_to_live: true,
            ..Outcome::to(P::Listed, R::Rejected)
        },
        (Action::Suspend, P::Listed) => Outcome::to(P::Suspended, state.revision),
        _ => return Err(refusal(state, action)),
    };
    Ok(outcome)
}

fn refusal(state: State, action: Action) -> String {
    match (action, state.revision) {
        (Action::Edit, RevisionStatus::Submitted) => {
            "The package is under review; it can be edited again once an admin has decided."
                .to_owned()
        }
        (Action::Approve | Action::RequestChanges | Action::Reject, _)
            if state.revision != RevisionStatus::Submitted =>
        {
            format!(
                "There is no submitted revision to {}; the package is {}.",
                action.as_str().replace('_', " "),
                state.package
            )
        }
        _ => format!(
            "A {} package cannot be {}.",
            state.package,
            past_tense(action)
        ),
    }
}

fn past_tense(action: Action) -> &'static str {
    match action {
        Action::Edit => "edited",
        Action::Submit => "submitted",
        Action::Withdraw => "withdrawn",
        Action::Approve => "approved",
        Action::RequestChanges => "returned for changes",
        Action::Reject => "rejected",
        Action::Suspend => "suspended",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PackageStatus as P;
    use RevisionStatus as R;

    fn new_draft() -> State {
        State {
            package: P::Draft,
            revision: R::Draft,
            current_is_live: false,
            has_live: false,
        }
    }

    fn step(state: State, action: Action) -> State {
        let outcome =
            apply(state, action).unwrap_or_else(|e| panic!("{action:?} on {state:?}: {e}"));
        let current_is_live = if outcome.goes_live {
            true
        } else if outcome.new_revision {
            false
        } else {
            outcome.back_to_live || state.current_is_live
        };
        let revision = if outcome.back_to_live {
            R::Approved
        } else {
            outcome.revision
        };
        State {
            package: outcome.package,
            revision,
            current_is_live,
            has_live: state.has_live || outcome.goes_live,
        }
    }

    #[test]
    fn a_draft_goes_through_review_to_the_catalogue() {
        let s = step(new_draft(), Action::Edit);
        let s = step(s, Action::Submit);
        assert_eq!((s.package, s.revision), (P::Submitted, R::Submitted));
        assert!(apply(s, Action::Edit).is_err(), "no edits under review");
        let s = step(s, Action::RequestChanges);
        assert_eq!(
            (s.package, s.revision),
            (P::ChangesRequested, R::ChangesRequested)
        );
        let s = step(step(s, Action::Edit), Action::Submit);
        let s = step(s, Action::Approve);
        assert_eq!(
            (s.package, s.revision, s.current_is_live),
            (P::Listed, R::Approved, true)
        );
    }

    #[test]
    fn editing_a_listed_package_opens_a_revision_and_the_live_one_stays() {
        let listed = step(step(new_draft(), Action::Submit), Action::Approve);
        let outcome = apply(listed, Action::Edit).unwrap();
        assert!(outcome.new_revision);
        assert_eq!(outcome.package, P::Listed);
        let editing = step(listed, Action::Edit);
        assert!(!editing.current_is_live && editing.has_live);
        let review = step(editing, Action::Submit);
        assert_eq!((review.package, review.revision), (P::Listed, R::Submitted));
        // Rejecting the edit keeps the package listed on its live revision.
        let rejected = apply(review, Action::Reject).unwrap();
        assert!(rejected.back_to_live);
        assert_eq!(rejected.package, P::Listed);
        // Returning it keeps it listed too; approving it makes it live.
        assert_eq!(
            apply(review, Action::RequestChanges).unwrap().package,
            P::Listed
        );
        assert!(apply(review, Action::Approve).unwrap().goes_live);
    }

    #[test]
    fn suspension_withdrawal_and_rejection() {
        let listed = step(step(new_draft(), Action::Submit), Action::Approve);
        let suspended = step(listed, Action::Suspend);
        assert_eq!(suspended.package, P::Suspended);
        assert!(apply(suspended, Action::Edit).is_err());
        assert_eq!(step(suspended, Action::Approve).package, P::Listed);
        assert_eq!(step(suspended, Action::Withdraw).package, P::Withdrawn);
        let rejected = step(step(new_draft(), Action::Submit), Action::Reject);
        assert_eq!(rejected.package, P::Rejected);
        for action in [
            Action::Edit,
            Action::Submit,
            Action::Withdraw,
            Action::Approve,
            Action::Suspend,
        ] {
            assert!(
                apply(rejected, action).is_err(),
                "{action:?} on a rejected package"
            );
        }
        assert!(
            apply(new_draft(), Action::Approve).is_err(),
            "a draft is not under review"
        );
        assert!(apply(new_draft(), Action::Suspend).is_err());
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in PackageStatus::ALL {
            assert_eq!(
                status.as_str().parse::<PackageStatus>().as_ref(),
                Ok(status)
            );
        }
        for status in RevisionStatus::ALL {
            assert_eq!(
                status.as_str().parse::<RevisionStatus>().as_ref(),
                Ok(status)
            );
        }
        assert!("archived".parse::<PackageStatus>().is_err());
    }
}
