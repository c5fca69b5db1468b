package hf

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// DefaultRevision is the revision Resolve uses when none is given.
const DefaultRevision = "main"

// maxNameLen is the Hub's limit on each part of a repository id.
const maxNameLen = 96

// namePart is one part of a repository id, as huggingface_hub's validate_repo_id accepts it:
// letters, digits, '-', '_' and '.', starting and ending with a letter, digit or '_'.
var namePart = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

// ValidateID checks that id is a Hub model id: "owner/name" (or a bare legacy "name"), each part
// letters, digits, '-', '_' and '.', at most 96 characters, no "--" or "..", not ending in ".git".
// The error is an *Error wrapping ErrInvalidID with the fix in its message.
func ValidateID(id string) error {
	bad := func(why string) error {
		return newError(ErrInvalidID, id, "", AttributeID,
			"invalid model id %q: %s. Use the repository id as shown on the model page, \"owner/name\", for example \"Qwen/Qwen2.5-7B-Instruct\"",
			id, why)
	}
	switch {
	case id == "":
		return bad("it is empty")
	case strings.Contains(id, "://") || strings.HasPrefix(id, "huggingface.co/"):
		return bad("it is a URL, not an id (drop the https://huggingface.co/ prefix)")
	case strings.IndexFunc(id, unicode.IsSpace) >= 0:
		return bad("it contains white space")
	}
	parts := strings.Split(id, "/")
	if len(parts) > 2 {
		return bad("it has more than one '/'; a revision goes in the revision argument, not the id")
	}
	for _, p := range parts {
		switch {
		case p == "":
			return bad("a part before or after '/' is empty")
		case len(p) > maxNameLen:
			return bad(fmt.Sprintf("%q is longer than %d characters", p, maxNameLen))
		case strings.Contains(p, "--") || strings.Contains(p, ".."):
			return bad(`"--" and ".." are not allowed`)
		case !namePart.MatchString(p):
			return bad("only letters, digits, '-', '_' and '.' are allowed, and a part cannot start or end with '-' or '.'")
		}
	}
	if strings.HasSuffix(id, ".git") {
		return bad(`it cannot end with ".git"`)
	}
	return nil
}

// ValidateRevision checks that revision can name a branch, tag or commit: not empty, no white space
// or control characters, at most 255 bytes. Whether it exists is only known by asking the Hub.
func ValidateRevision(revision string) error {
	bad := func(why string) error {
		return newError(ErrInvalidRevision, "", revision, AttributeRevision,
			"invalid revision %q: %s. Use a branch (for example \"main\"), a tag or a full commit sha", revision, why)
	}
	switch {
	case revision == "":
		return bad("it is empty")
	case len(revision) > 255:
		return bad("it is longer than 255 bytes")
	case strings.IndexFunc(revision, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return bad("it contains white space or control characters")
	}
	return nil
}

// escapeRevision percent-encodes every byte except RFC 3986 unreserved characters, like Python's
// quote(revision, safe=""), so "refs/pr/3" becomes "refs%2Fpr%2F3".
func escapeRevision(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// isCommitSHA reports whether s is a full 40-character hex commit sha.
func isCommitSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
