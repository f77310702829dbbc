//! What every OpenAPI document of Sova declares besides its routes.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// Declare on every operation the error answers it can give: `4XX` and `5XX` in the document's error envelope
/// (`schema`, a component name), unless the operation already declares them. Sova answers every error it makes in
/// its surface's envelope, so a schema-driven client can parse any refusal.
pub fn declare_errors(api: &mut OpenApi, schema: &str) {
    for item in api.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in ops.into_iter().flatten() {
            add_errors(op, schema);
        }
    }
}

fn add_errors(op: &mut Operation, schema: &str) {
    for (range, what) in [
        ("4XX", "refused: the envelope's code says why and what to fix"),
        ("5XX", "failed on the server (or a dependency is unavailable); the trace id identifies it in the log"),
    ] {
        op.responses.responses.entry(range.to_string()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(what)
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(RefOr::Ref(Ref::from_schema_name(schema)))).build(),
                    )
                    .build(),
            )
        });
    }
}
