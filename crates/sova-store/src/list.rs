//! The `filter[...]` family reduced to what SQL needs: limit, skip, one sort key, equality conditions.
//! Column names are checked against each table's whitelist here, so nothing a client sends reaches SQL text.

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// One equality condition `column = value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Where {
    /// Column (must be in the table's whitelist).
    pub field: String,
    /// Value compared as text.
    pub value: String,
}

/// A list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// At most this many items.
    pub limit: u64,
    /// Skip this many.
    pub skip: u64,
    /// Sort column and direction.
    pub sort: (String, SortDir),
    /// Equality filters.
    pub wheres: Vec<Where>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self { limit: 20, skip: 0, sort: ("created_at".into(), SortDir::Desc), wheres: Vec::new() }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Items matching the filters in all.
    pub total: u64,
}

impl ListQuery {
    /// Render the `AND ...` conditions and the `ORDER BY ... LIMIT ... OFFSET ...` tail, given the allowed text
    /// columns to filter on, the allowed columns to sort on, and the first free placeholder number.
    /// Returns the SQL tail and the values to bind after the caller's own.
    pub(crate) fn render(
        &self,
        filterable: &[&str],
        sortable: &[&str],
        first_param: usize,
    ) -> Result<(String, String, Vec<String>), String> {
        let mut cond = String::new();
        let mut binds = Vec::new();
        for (i, w) in self.wheres.iter().enumerate() {
            let col =
                filterable.iter().find(|c| **c == w.field).ok_or_else(|| format!("cannot filter on `{}`", w.field))?;
            cond.push_str(&format!(" AND {col} = ${}", first_param + i));
            binds.push(w.value.clone());
        }
        let sort_col =
            sortable.iter().find(|c| **c == self.sort.0).ok_or_else(|| format!("cannot sort on `{}`", self.sort.0))?;
        let dir = match self.sort.1 {
            SortDir::Asc => "ASC",
            SortDir::Desc => "DESC",
        };
        let limit = self.limit.min(1000);
        let skip = self.skip.min(i64::MAX as u64);
        let tail = format!(" ORDER BY {sort_col} {dir}, seq {dir} LIMIT {limit} OFFSET {skip}");
        Ok((cond, tail, binds))
    }
}
