package handlers

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"roster/models"
	"roster/views"
)

// listQuery is what the lists paged by keyset (codes, outbox) read from
// the query string besides their own filter: the cursor, the page size and
// the channel. Values they cannot use are kept in ignored, for the page to
// name them.
type listQuery struct {
	before, after, size, channel string
	keyset                       models.Keyset
	limit                        int
	ignored                      []string
}

// readListQuery reads the cursor ("before" or "after": a row id), the
// size (one of views.PageSizes; defSize when absent) and the channel (one
// of channels).
func readListQuery(c *fiber.Ctx, defSize int, channels []string) listQuery {
	var l listQuery
	ignore := func(key, why string) {
		l.ignored = append(l.ignored, key+"=“"+shortText(c.Query(key))+"” ("+why+")")
	}
	l.limit = defSize
	if s := c.Query("size"); s != "" {
		if slices.Contains(views.PageSizes(), s) {
			l.size = s
			l.limit, _ = strconv.Atoi(s)
		} else {
			ignore("size", strings.Join(views.PageSizes(), ", "))
		}
	}
	for _, key := range []string{"before", "after"} {
		s := c.Query(key)
		if s == "" {
			continue
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			ignore(key, "a page link's row number; showing the newest page")
			continue
		}
		if key == "before" {
			l.before, l.keyset.Before = s, id
		} else if l.before == "" {
			l.after, l.keyset.After = s, id
		}
	}
	if ch := c.Query("channel"); ch != "" {
		if slices.Contains(channels, ch) {
			l.channel = ch
		} else {
			ignore("channel", strings.Join(channels, ", "))
		}
	}
	return l
}

// pages are the links around a keyset page, given how to write the URL of
// the page older than before (or newer than after).
func (l listQuery) pages(links models.PageLinks, url func(before, after int64) string) views.KeysetPages {
	var p views.KeysetPages
	if l.before != "" || l.after != "" {
		p.NewestURL = url(0, 0)
	}
	if links.Older > 0 {
		p.OlderURL = url(links.Older, 0)
	}
	if links.Newer > 0 {
		p.NewerURL = url(0, links.Newer)
	}
	return p
}

// ignoredNotice names the values a list did not use, with the date
// notice (dayRange's), if any; nil when there are none.
func ignoredNotice(ignored []string, dates *views.Notice) *views.Notice {
	var parts []string
	if dates != nil {
		parts = append(parts, dates.Text)
	}
	if len(ignored) > 0 {
		parts = append(parts, "Ignored: "+strings.Join(ignored, "; ")+".")
	}
	if len(parts) == 0 {
		return nil
	}
	return fail(strings.Join(parts, " "))
}
