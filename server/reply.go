package server

import "github.com/nuri-ai/nuri/chat"

// replySplit splits one chat choice's reply, as it streams, into
// reasoning, content and tool calls: the thinking first, then the tool
// parser on what follows it.
type replySplit struct {
	think *chat.ThinkParser // nil: reasoning is not split off
	tools *chat.ToolParser  // nil: calls are not parsed
	limit int               // the most calls a reply gives (0: any number)
	calls int               // calls given so far
}

// replyParts is what one piece of a reply comes to.
type replyParts struct {
	reasoning, content string
	calls              []chat.ToolCall
}

// newSplit returns the splitter of one of j's choices, nil when the
// reply is all content. The forced prefix goes through it first: it only
// opens a call (or closes the thinking), so it gives nothing.
func (j *job) newSplit() *replySplit {
	if !j.reasoning && j.tools.format == "" {
		return nil
	}
	r := &replySplit{limit: j.tools.limit}
	if j.reasoning {
		r.think = chat.NewThinkParser(j.thinkTags, j.thinkOpen)
	}
	if j.tools.format != "" {
		r.tools = chat.NewToolParser(j.tools.format)
	}
	r.push(j.prefix, false)
	return r
}

func (r *replySplit) push(text string, final bool) replyParts {
	var p replyParts
	if r.think != nil {
		p.reasoning, text = r.think.Push(text)
		if final {
			a, b := r.think.Finish()
			p.reasoning += a
			text += b
		}
	}
	if r.tools == nil {
		p.content = text
		return p
	}
	p.content, p.calls = r.tools.Push(text)
	if final {
		c, more := r.tools.Finish()
		p.content += c
		p.calls = append(p.calls, more...)
	}
	if r.limit > 0 {
		p.calls = p.calls[:min(len(p.calls), max(0, r.limit-r.calls))]
	}
	r.calls += len(p.calls)
	return p
}

// splitReply splits a whole reply.
func (j *job) splitReply(text string) replyParts {
	r := j.newSplit()
	if r == nil {
		return replyParts{content: text}
	}
	return r.push(text, true)
}
