//! Store errors.

/// What a store call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row (or not visible to the caller).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken: names what (e.g. `customer_id`).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A state transition that is not allowed (e.g. completing a completed deposit).
    #[error("{0}")]
    InvalidState(String),
    /// A debit would take a balance below zero.
    #[error("insufficient funds in {0}")]
    InsufficientFunds(String),
    /// A posting would take an account's balance outside the range the ledger represents exactly (names the
    /// account); nothing is written.
    #[error("the balance of {0} would leave the ledger's exact range")]
    OutOfRange(String),
    /// The ledger was asked to post an unbalanced transaction (a bug in the caller).
    #[error("unbalanced ledger transaction: {0}")]
    Unbalanced(String),
    /// Address derivation failed inside the transaction.
    #[error("derivation failed: {0}")]
    Derivation(String),
    /// A list filter or sort names a column that cannot be used (message names it).
    #[error("{0}")]
    BadFilter(String),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read (corrupt data).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Map a unique-violation database error to `Conflict(what)`, pass others through.
    pub(crate) fn unique(e: sqlx::Error, what: &'static str) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what),
            _ => StoreError::Db(e),
        }
    }
}
