//! Shared domain model of the catalog: [`Product`] and the in-memory
//! [`Catalog`] with its seed data.
//!
//! Both the HTTP service (which serves the catalog) and the CLI (which
//! deserializes it) depend on this crate, so the JSON shape is defined exactly
//! once, here.

use catalog_macros::Describe;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;

/// A product for sale. Prices are integer cents to avoid float rounding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Describe)]
pub struct Product {
    pub id: u32,
    pub name: String,
    pub price_cents: u64,
    pub tags: Vec<String>,
}

impl Product {
    pub fn new(id: u32, name: &str, price_cents: u64, tags: &[&str]) -> Self {
        Product {
            id,
            name: name.to_owned(),
            price_cents,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    /// The price formatted for display, e.g. `12.50`.
    pub fn price(&self) -> String {
        format_cents(self.price_cents)
    }
}

/// Formats an amount of cents as `units.cents`, e.g. `1999` -> `19.99`.
pub fn format_cents(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Why a catalog is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogError {
    DuplicateId(u32),
    EmptyName(u32),
    ZeroPrice(u32),
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::DuplicateId(id) => write!(f, "product id {id} is used more than once"),
            CatalogError::EmptyName(id) => write!(f, "product {id} has an empty name"),
            CatalogError::ZeroPrice(id) => write!(f, "product {id} has a price of zero"),
        }
    }
}

impl std::error::Error for CatalogError {}

/// An in-memory, read-only product catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    products: Vec<Product>,
}

impl Catalog {
    pub fn new(products: Vec<Product>) -> Self {
        Catalog { products }
    }

    /// The built-in demo data the service starts with (there is no database:
    /// the example is about packaging, not persistence).
    pub fn seed() -> Self {
        Catalog::new(vec![
            Product::new(1, "Espresso beans 1kg", 2450, &["coffee", "beans"]),
            Product::new(2, "Ceramic pour-over dripper", 1899, &["coffee", "brewing"]),
            Product::new(3, "Gooseneck kettle", 5900, &["brewing", "kitchen"]),
            Product::new(4, "Burr grinder", 12900, &["coffee", "kitchen"]),
            Product::new(5, "Paper filters (100)", 499, &["brewing"]),
            Product::new(6, "Travel mug", 1550, &["accessories"]),
        ])
    }

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    pub fn get(&self, id: u32) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// Products carrying `tag`, in catalog order.
    pub fn with_tag<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Product> + 'a {
        self.products
            .iter()
            .filter(move |p| p.tags.iter().any(|t| t == tag))
    }

    /// Checks the invariants the API relies on: unique ids, non-empty names,
    /// non-zero prices. Returns every problem found, not just the first.
    pub fn validate(&self) -> Result<(), Vec<CatalogError>> {
        let mut seen = HashSet::new();
        let mut errors = Vec::new();
        for p in &self.products {
            if !seen.insert(p.id) {
                errors.push(CatalogError::DuplicateId(p.id));
            }
            if p.name.trim().is_empty() {
                errors.push(CatalogError::EmptyName(p.id));
            }
            if p.price_cents == 0 {
                errors.push(CatalogError::ZeroPrice(p.id));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_catalog_is_valid_and_non_empty() {
        let catalog = Catalog::seed();
        assert!(catalog.len() >= 5);
        assert_eq!(catalog.validate(), Ok(()));
    }

    #[test]
    fn lookup_by_id_and_tag() {
        let catalog = Catalog::seed();
        assert_eq!(catalog.get(3).unwrap().name, "Gooseneck kettle");
        assert!(catalog.get(999).is_none());
        let ids: Vec<u32> = catalog.with_tag("kitchen").map(|p| p.id).collect();
        assert_eq!(ids, vec![3, 4]);
    }

    #[test]
    fn validation_reports_every_problem() {
        let catalog = Catalog::new(vec![
            Product::new(1, "ok", 100, &[]),
            Product::new(1, " ", 0, &[]),
        ]);
        assert_eq!(
            catalog.validate(),
            Err(vec![
                CatalogError::DuplicateId(1),
                CatalogError::EmptyName(1),
                CatalogError::ZeroPrice(1),
            ])
        );
    }

    #[test]
    fn prices_are_formatted_with_two_decimals() {
        assert_eq!(format_cents(0), "0.00");
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(format_cents(1899), "18.99");
        assert_eq!(Product::new(9, "x", 12900, &[]).price(), "129.00");
    }

    #[test]
    fn product_json_shape_is_stable() {
        // The CLI and any external client depend on these field names.
        let json = serde_json::to_value(Product::new(7, "Mug", 1550, &["a"])).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": 7, "name": "Mug", "price_cents": 1550, "tags": ["a"]})
        );
        let back: Product = serde_json::from_value(json).unwrap();
        assert_eq!(back.id, 7);
    }

    #[test]
    fn derive_describe_is_available() {
        assert_eq!(Product::type_name(), "Product");
        assert_eq!(Product::field_names().len(), 4);
    }
}
