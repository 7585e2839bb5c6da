/**
 * Go's text/template for docker's `--format`: parse once with compile(), execute per row. The
 * engine knows Go's semantics only; docker's formatting (table, json, headers) is in ../format.
 */
export { compile, GO_TYPE, TemplateError, type Template, type TemplateFunc } from './template.js';
