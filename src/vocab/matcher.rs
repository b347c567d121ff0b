//! Label matchers and Alertmanager's matcher syntax: one type and one parser
//! for the API's filters, silences, routes, inhibitions and the importer.
