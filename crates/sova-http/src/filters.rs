//! The `filter[...]` query family (loopback style): `filter[limit]`, `filter[skip]`, `filter[sort]=field ASC|DESC`,
//! `filter[where][field]=value`. Anything else in the query string, or a field the resource does not document,
//! is a 400 that names it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sova_store::{ListQuery, SortDir, Where};

use crate::error::ApiError;

/// Default page size.
pub const DEFAULT_LIMIT: u64 = 20;
/// Largest page size.
pub const MAX_LIMIT: u64 = 100;

/// The raw filter parameters of a request, not yet checked against a resource.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    limit: Option<String>,
    skip: Option<String>,
    sort: Option<String>,
    wheres: Vec<(String, String)>,
    unknown: Vec<String>,
}

impl Filters {
    /// Parse a raw query string.
    pub fn parse(query: &str) -> Self {
        let mut f = Filters::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let (k, v) = (k.into_owned(), v.into_owned());
            match k.as_str() {
                "filter[limit]" => f.limit = Some(v),
                "filter[skip]" | "filter[offset]" => f.skip = Some(v),
                "filter[sort]" | "filter[order]" => f.sort = Some(v),
                _ => match k.strip_prefix("filter[where][").and_then(|r| r.strip_suffix(']')) {
                    Some(field) if !field.is_empty() => f.wheres.push((field.to_string(), v)),
                    _ => f.unknown.push(k),
                },
            }
        }
        f
    }

    /// Check against the fields a resource allows and build the store query.
    pub fn to_query(&self, filterable: &[&str], sortable: &[&str]) -> Result<ListQuery, ApiError> {
        if let Some(k) = self.unknown.first() {
            return Err(ApiError::validation(
                k.clone(),
                format!(
                    "unknown query parameter `{k}`; use filter[limit], filter[skip], filter[sort], filter[where][field]"
                ),
            ));
        }
        let limit = match &self.limit {
            None => DEFAULT_LIMIT,
            Some(s) => match s.trim().parse::<u64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::validation(
                        "filter[limit]",
                        format!("filter[limit] must be a whole number from 1 to {MAX_LIMIT}, got `{s}`"),
                    ));
                }
            },
        };
        let skip = match &self.skip {
            None => 0,
            Some(s) => s.trim().parse::<u64>().map_err(|_| {
                ApiError::validation("filter[skip]", format!("filter[skip] must be a whole number >= 0, got `{s}`"))
            })?,
        };
        let sort = match &self.sort {
            None => ("created_at".to_string(), SortDir::Desc),
            Some(s) => {
                let mut parts = s.split_whitespace();
                let field = parts.next().unwrap_or("");
                let dir = match parts.next().map(|d| d.to_ascii_uppercase()) {
                    None => SortDir::Asc,
                    Some(d) if d == "ASC" => SortDir::Asc,
                    Some(d) if d == "DESC" => SortDir::Desc,
                    Some(d) => {
                        return Err(ApiError::validation(
                            "filter[sort]",
                            format!("sort direction must be ASC or DESC, got `{d}`"),
                        ));
                    }
                };
                if parts.next().is_some() || !sortable.contains(&field) {
                    return Err(ApiError::validation(
                        "filter[sort]",
                        format!(
                            "cannot sort by `{s}`; use `<field> ASC|DESC` with field one of: {}",
                            sortable.join(", ")
                        ),
                    ));
                }
                (field.to_string(), dir)
            }
        };
        let mut wheres = Vec::new();
        for (field, value) in &self.wheres {
            if !filterable.contains(&field.as_str()) {
                return Err(ApiError::validation(
                    format!("filter[where][{field}]"),
                    format!("cannot filter on `{field}`; filterable fields: {}", filterable.join(", ")),
                ));
            }
            // Statuses and currencies are stored upper-case; accept any case from the client.
            let value = if matches!(field.as_str(), "status" | "currency") {
                value.to_ascii_uppercase()
            } else {
                value.clone()
            };
            wheres.push(Where { field: field.clone(), value });
        }
        Ok(ListQuery { limit, skip, sort, wheres })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Filters {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Filters::parse(parts.uri.query().unwrap_or("")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_family() {
        let f = Filters::parse(
            "filter%5Blimit%5D=5&filter[skip]=10&filter[sort]=created_at%20ASC&filter[where][status]=active",
        );
        let q = f.to_query(&["status"], &["created_at"]).map_err(|e| e.message).unwrap_or_default();
        assert_eq!(q.limit, 5);
        assert_eq!(q.skip, 10);
        assert_eq!(q.sort, ("created_at".into(), SortDir::Asc));
        assert_eq!(q.wheres, vec![Where { field: "status".into(), value: "ACTIVE".into() }]);
    }

    #[test]
    fn rejects_what_it_does_not_know() {
        for (qs, field) in [
            ("filter[limit]=0", "filter[limit]"),
            ("filter[limit]=101", "filter[limit]"),
            ("filter[limit]=x", "filter[limit]"),
            ("filter[skip]=-1", "filter[skip]"),
            ("filter[sort]=password DESC", "filter[sort]"),
            ("filter[sort]=created_at SIDEWAYS", "filter[sort]"),
            ("filter[where][secret]=1", "filter[where][secret]"),
            ("page=2", "page"),
        ] {
            let e = Filters::parse(qs).to_query(&["status"], &["created_at"]).err();
            assert_eq!(e.and_then(|e| e.field).as_deref(), Some(field), "{qs}");
        }
    }
}
