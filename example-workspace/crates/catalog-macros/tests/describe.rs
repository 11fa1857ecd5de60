//! Tests for `#[derive(Describe)]`.
//!
//! A proc-macro crate cannot use its own macros in unit tests, so these are
//! integration tests. They check the derive both on local structs (edge cases)
//! and on the real domain types, which is why `catalog-domain` is a
//! dev-dependency of this crate.

use catalog_domain::Product;
use catalog_macros::Describe;
use std::collections::HashMap;

#[test]
fn describes_the_domain_product() {
    assert_eq!(Product::type_name(), "Product");
    assert_eq!(
        Product::field_names(),
        &["id", "name", "price_cents", "tags"]
    );
    assert_eq!(
        Product::describe(),
        "Product { id: u32, name: String, price_cents: u64, tags: Vec<String> }"
    );
}

#[allow(dead_code)]
#[derive(Describe)]
struct Tricky {
    /// Doc comments are attributes and must be skipped.
    pub(crate) lookup: HashMap<String, Vec<u8>>,
    callback: fn(u8) -> u8,
    #[describe(skip)]
    internal_cache: Vec<u64>,
    fixed: [u8; 4],
    borrowed: &'static str,
}

#[test]
fn handles_generics_visibility_attributes_and_skip() {
    assert_eq!(
        Tricky::field_names(),
        &["lookup", "callback", "fixed", "borrowed"]
    );
    assert_eq!(
        Tricky::describe(),
        "Tricky { lookup: HashMap<String, Vec<u8>>, callback: fn(u8) -> u8, \
         fixed: [u8; 4], borrowed: &'static str }"
    );
}

#[derive(Describe)]
struct Marker;

#[test]
fn unit_structs_have_no_fields() {
    assert_eq!(Marker::type_name(), "Marker");
    assert!(Marker::field_names().is_empty());
    assert_eq!(Marker::describe(), "Marker");
}
