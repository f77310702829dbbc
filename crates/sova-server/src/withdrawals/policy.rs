//! Withdrawal policies: an ordered list of rules, the first that matches decides (ALLOW, BLOCK or
//! REQUIRE_APPROVAL), else the default action. Pure: the facts a rule looks at (velocity sums, the address book) are
//! gathered first and handed in.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sova_http::error::{ApiError, ApiResult};
use utoipa::ToSchema;

/// What a rule (or the default) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// Proceed (after the code).
    Allow,
    /// Refuse at creation; nothing is held.
    Block,
    /// After the code, wait for `approvals` approvals from distinct approvers.
    RequireApproval,
}

/// Whose withdrawals a velocity limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scope {
    /// The same user's.
    User,
    /// The same wallet's.
    Wallet,
    /// Every withdrawal of the customer.
    Customer,
}

/// Matches when this withdrawal would take the scope past a limit within the window (withdrawals held, in flight
/// or completed count; cancelled, rejected and failed ones do not). Sums are in the withdrawal's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Velocity {
    /// Whose withdrawals count.
    pub scope: Scope,
    /// The window, in seconds (1 .. 31 days).
    pub window_secs: i64,
    /// The largest sum allowed in the window (decimal string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<String>,
    /// The most withdrawals allowed in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<i64>,
}

/// Where the destination stands with the user's address book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Destination {
    /// In the book and past its cooling-off period.
    InAddressBook,
    /// Not in the book, or still cooling off.
    NotInAddressBook,
}

/// One rule: every condition given must hold for it to match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A name shown on the withdrawals it decides (default `rule-<n>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it does.
    pub action: Action,
    /// For REQUIRE_APPROVAL: how many distinct approvers (default 1, at most 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<i64>,
    /// Currencies it applies to (any if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currencies: Option<Vec<String>>,
    /// Networks it applies to (any if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<Vec<String>>,
    /// Applies from this amount (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_amount: Option<String>,
    /// Applies up to this amount (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<String>,
    /// Applies when a velocity limit would be passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub velocity: Option<Velocity>,
    /// Applies to destinations in, or not in, the address book.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Destination>,
}

/// A customer's withdrawal policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Checked in order; the first that matches decides (at most 100).
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// When no rule matches.
    pub default_action: Action,
    /// Approvals the default needs when it is REQUIRE_APPROVAL (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_approvals: Option<i64>,
    /// Seconds before a new address-book entry counts as in the book (default 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_book_cooling_off_secs: Option<i64>,
    /// Seconds a withdrawal waits for its approvals before it is rejected (default 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_window_secs: Option<i64>,
}

/// Default cooling-off of new address-book entries.
pub const DEFAULT_COOLING_OFF_SECS: i64 = 86_400;
/// Default approval window.
pub const DEFAULT_APPROVAL_WINDOW_SECS: i64 = 86_400;

impl Policy {
    /// The policy of a customer who has set none: ALLOW in the sandbox; one approval outside it.
    pub fn default_for(sandbox: bool) -> Self {
        Self {
            rules: Vec::new(),
            default_action: if sandbox { Action::Allow } else { Action::RequireApproval },
            default_approvals: None,
            address_book_cooling_off_secs: None,
            approval_window_secs: None,
        }
    }

    /// Cooling-off of new entries, in ms.
    pub fn cooling_off_ms(&self) -> i64 {
        self.address_book_cooling_off_secs.unwrap_or(DEFAULT_COOLING_OFF_SECS) * 1000
    }

    /// Approval window, in ms.
    pub fn approval_window_ms(&self) -> i64 {
        self.approval_window_secs.unwrap_or(DEFAULT_APPROVAL_WINDOW_SECS) * 1000
    }

    /// Check a policy document; the error names the field to fix.
    pub fn validate(&self) -> ApiResult<()> {
        if self.rules.len() > 100 {
            return Err(ApiError::validation("rules", "at most 100 rules"));
        }
        let secs = |field: &str, v: Option<i64>, max: i64| match v {
            Some(s) if !(0..=max).contains(&s) => {
                Err(ApiError::validation(field, format!("`{field}` must be between 0 and {max} seconds")))
            }
            _ => Ok(()),
        };
        secs("address_book_cooling_off_secs", self.address_book_cooling_off_secs, 30 * 86_400)?;
        secs("approval_window_secs", self.approval_window_secs, 30 * 86_400)?;
        approvals("default_approvals", self.default_approvals)?;
        for (i, r) in self.rules.iter().enumerate() {
            let f = |name: &str| format!("rules[{i}].{name}");
            if let Some(n) = &r.name {
                sova_http::validate::text(&f("name"), n, 100)?;
            }
            approvals(&f("approvals"), r.approvals)?;
            for cur in r.currencies.iter().flatten() {
                if sova_chain::Currency::parse(cur).is_none() {
                    return Err(ApiError::validation(f("currencies"), format!("unknown currency `{cur}`")));
                }
            }
            for net in r.networks.iter().flatten() {
                if sova_chain::Network::parse(net).is_none() {
                    return Err(ApiError::validation(f("networks"), format!("unknown network `{net}`")));
                }
            }
            for (name, v) in [("min_amount", &r.min_amount), ("max_amount", &r.max_amount)] {
                if let Some(v) = v {
                    decimal(&f(name), v)?;
                }
            }
            if let Some(v) = &r.velocity {
                if !(1..=31 * 86_400).contains(&v.window_secs) {
                    return Err(ApiError::validation(
                        f("velocity.window_secs"),
                        "`window_secs` must be between 1 and 2678400 (31 days)",
                    ));
                }
                if v.max_amount.is_none() && v.max_count.is_none() {
                    return Err(ApiError::validation(f("velocity"), "give `max_amount`, `max_count` or both"));
                }
                if let Some(a) = &v.max_amount {
                    decimal(&f("velocity.max_amount"), a)?;
                }
                if v.max_count.is_some_and(|c| c < 0) {
                    return Err(ApiError::validation(f("velocity.max_count"), "`max_count` must not be negative"));
                }
            }
        }
        Ok(())
    }
}

fn approvals(field: &str, v: Option<i64>) -> ApiResult<()> {
    match v {
        Some(n) if !(1..=10).contains(&n) => Err(ApiError::validation(field, format!("`{field}` must be 1 to 10"))),
        _ => Ok(()),
    }
}

fn decimal(field: &str, v: &str) -> ApiResult<Decimal> {
    v.parse::<Decimal>()
        .ok()
        .filter(|d| !d.is_sign_negative())
        .ok_or_else(|| ApiError::validation(field, format!("`{field}` must be a non-negative decimal string")))
}

/// The withdrawal a policy is asked about, with the facts its rules look at.
#[derive(Clone)]
pub struct Facts<'a> {
    /// Upper-case currency.
    pub currency: &'a str,
    /// Network wire name.
    pub network: &'a str,
    /// The amount that leaves (before the fee).
    pub amount: Decimal,
    /// Whether the destination is in the book and past its cooling-off.
    pub in_book: bool,
    /// For each velocity scope: (sum, count) of the scope's withdrawals in the window of the rule that asks, not
    /// counting this one.
    pub velocity: &'a dyn Fn(&Velocity) -> (Decimal, i64),
}

/// What the policy decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The action.
    pub action: Action,
    /// The rule that matched (`default` when none).
    pub rule: String,
    /// Approvals needed (0 unless REQUIRE_APPROVAL).
    pub approvals: i64,
    /// The rule looked at the address book and the destination is not (yet) usable in it.
    pub on_destination: bool,
}

/// The first rule of `p` that matches `f` decides, else the default.
pub fn evaluate(p: &Policy, f: &Facts<'_>) -> Decision {
    for (i, r) in p.rules.iter().enumerate() {
        if matches(r, f) {
            return Decision {
                action: r.action,
                rule: r.name.clone().unwrap_or_else(|| format!("rule-{}", i + 1)),
                approvals: if r.action == Action::RequireApproval { r.approvals.unwrap_or(1) } else { 0 },
                on_destination: r.destination == Some(Destination::NotInAddressBook),
            };
        }
    }
    Decision {
        action: p.default_action,
        rule: "default".into(),
        approvals: if p.default_action == Action::RequireApproval { p.default_approvals.unwrap_or(1) } else { 0 },
        on_destination: false,
    }
}

fn matches(r: &Rule, f: &Facts<'_>) -> bool {
    let listed =
        |list: &Option<Vec<String>>, v: &str| list.as_ref().is_none_or(|l| l.iter().any(|x| x.eq_ignore_ascii_case(v)));
    let bound = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<Decimal>().ok());
    listed(&r.currencies, f.currency)
        && listed(&r.networks, f.network)
        && bound(&r.min_amount).is_none_or(|min| f.amount >= min)
        && bound(&r.max_amount).is_none_or(|max| f.amount <= max)
        && r.destination.is_none_or(|d| (d == Destination::InAddressBook) == f.in_book)
        && r.velocity.as_ref().is_none_or(|v| {
            let (sum, count) = (f.velocity)(v);
            let over_amount = v
                .max_amount
                .as_deref()
                .and_then(|m| m.parse::<Decimal>().ok())
                .is_some_and(|max| sum.checked_add(f.amount).is_none_or(|total| total > max));
            let over_count = v.max_count.is_some_and(|max| count + 1 > max);
            over_amount || over_count
        })
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn facts<'a>(amount: &str, in_book: bool, v: &'a dyn Fn(&Velocity) -> (Decimal, i64)) -> Facts<'a> {
        Facts {
            currency: "BTC",
            network: "bitcoin-testnet",
            amount: amount.parse().expect("decimal"),
            in_book,
            velocity: v,
        }
    }

    fn policy(json: serde_json::Value) -> Policy {
        let p: Policy = serde_json::from_value(json).expect("policy");
        p.validate().expect("valid");
        p
    }

    #[test]
    fn first_match_wins_then_the_default() {
        let p = policy(serde_json::json!({
            "default_action": "ALLOW",
            "rules": [
                {"name": "unknown-destination", "action": "BLOCK", "destination": "NOT_IN_ADDRESS_BOOK", "min_amount": "5"},
                {"name": "big", "action": "REQUIRE_APPROVAL", "approvals": 2, "currencies": ["btc"], "min_amount": "1"},
                {"action": "REQUIRE_APPROVAL", "velocity": {"scope": "USER", "window_secs": 3600, "max_count": 3}}
            ]
        }));
        let none = |_: &Velocity| (Decimal::ZERO, 0);
        let busy = |_: &Velocity| (Decimal::ONE, 3);
        let d = evaluate(&p, &facts("6", false, &none));
        assert_eq!((d.action, d.rule.as_str(), d.on_destination), (Action::Block, "unknown-destination", true));
        let d = evaluate(&p, &facts("6", true, &none));
        assert_eq!((d.action, d.rule.as_str(), d.approvals), (Action::RequireApproval, "big", 2));
        let d = evaluate(&p, &facts("0.5", true, &none));
        assert_eq!((d.action, d.rule.as_str()), (Action::Allow, "default"));
        let d = evaluate(&p, &facts("0.5", true, &busy));
        assert_eq!((d.action, d.rule.as_str(), d.approvals), (Action::RequireApproval, "rule-3", 1));
    }

    #[test]
    fn velocity_by_amount_counts_this_withdrawal() {
        let p = policy(serde_json::json!({"default_action": "ALLOW", "rules": [
            {"action": "BLOCK", "velocity": {"scope": "WALLET", "window_secs": 86400, "max_amount": "10"}}]}));
        let spent = |_: &Velocity| ("9".parse().expect("decimal"), 4);
        assert_eq!(evaluate(&p, &facts("1", true, &spent)).action, Action::Allow, "exactly at the limit");
        assert_eq!(evaluate(&p, &facts("1.00000001", true, &spent)).action, Action::Block);
    }

    #[test]
    fn bad_documents_name_the_field() {
        for (doc, field) in [
            (
                serde_json::json!({"default_action": "ALLOW", "rules": [{"action": "ALLOW", "currencies": ["XYZ"]}]}),
                "rules[0].currencies",
            ),
            (
                serde_json::json!({"default_action": "ALLOW", "rules": [{"action": "REQUIRE_APPROVAL", "approvals": 0}]}),
                "rules[0].approvals",
            ),
            (
                serde_json::json!({"default_action": "ALLOW", "rules": [{"action": "BLOCK", "min_amount": "-1"}]}),
                "rules[0].min_amount",
            ),
            (
                serde_json::json!({"default_action": "ALLOW", "rules": [{"action": "BLOCK", "velocity": {"scope": "USER", "window_secs": 60}}]}),
                "rules[0].velocity",
            ),
            (serde_json::json!({"default_action": "ALLOW", "approval_window_secs": -1}), "approval_window_secs"),
        ] {
            let p: Policy = serde_json::from_value(doc).expect("shape");
            let e = p.validate().expect_err("refused");
            assert_eq!(e.field.as_deref(), Some(field));
        }
    }
}
