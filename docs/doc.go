// Package docs holds the user manual; its test checks the links.
//
// The manual is README.md at the repository root (the front door) and the
// Markdown files of this directory, one per task. links_test.go checks every
// Markdown link in them: relative links must name a file of the repository,
// every #anchor must be a heading of its target under GitHub's slug rules,
// and external http(s) links must be well-formed (they are not fetched).
package docs
