//! The klaxon rule language: syntax tree, parser and formatter.
//!
//! The parser never aborts: it returns a tree of everything it understood and
//! a diagnostic for everything it did not, recovering at the next statement
//! or block so one mistake does not hide the next.

pub mod ast;
pub mod fmt;
pub mod lexer;
pub mod parser;

pub use parser::parse;
