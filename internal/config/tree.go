package config

// Node is one keyword line of the generic tree: its keyword, arguments and, when it
// opened a { } block, the lines inside.
type Node struct {
	Keyword  string
	Pos      Pos
	Args     []Token // the tokens after the keyword
	Raw      string  // the text after the keyword, for values re-tokenised shell-like
	Children []*Node
	Block    bool // a { } block followed the keyword
	BlockPos Pos  // where its '{' was
}

// ArgPos is the position of argument i, or of the keyword when there is no such argument.
func (n *Node) ArgPos(i int) Pos {
	if i < len(n.Args) {
		return Pos{File: n.Pos.File, Line: n.Pos.Line, Col: n.Args[i].Col}
	}
	return n.Pos
}

// buildTree nests logical lines into blocks. A '{' opens a block for the keyword line
// before it (on the same line or an earlier one); '}' closes the innermost block.
func buildTree(lines []logicalLine, maxDepth int, d *diagSink) *Node {
	root := &Node{Block: true}
	stack := []*Node{root}
	// Every keyword line becomes a node: allocate them together rather than one by one.
	keywords := 0
	for i := range lines {
		if !isBrace(lines[i].toks[0]) {
			keywords++
		}
	}
	nodes := make([]Node, 0, keywords)
	tooDeep := 0 // levels opened beyond maxDepth, tracked only to keep braces balanced
	for i := range lines {
		l := &lines[i]
		cur := stack[len(stack)-1]
		first := l.toks[0]
		switch {
		case first.Text == "{" && !first.Quoted:
			if len(stack) > maxDepth || tooDeep > 0 {
				if tooDeep == 0 {
					d.errorf(l.pos, "blocks nested deeper than %d levels", maxDepth)
				}
				tooDeep++
				continue
			}
			var opener *Node
			if n := len(cur.Children); n > 0 && !cur.Children[n-1].Block {
				opener = cur.Children[n-1]
			} else {
				d.errorf(l.pos, "'{' without a keyword before it")
				opener = &Node{Pos: l.pos}
			}
			opener.Block = true
			opener.BlockPos = l.pos
			stack = append(stack, opener)
		case first.Text == "}" && !first.Quoted:
			switch {
			case tooDeep > 0:
				tooDeep--
			case len(stack) == 1:
				d.errorf(l.pos, "unexpected '}': no block is open")
			default:
				stack = stack[:len(stack)-1]
			}
		default:
			if tooDeep > 0 {
				continue
			}
			nodes = append(nodes, Node{Keyword: first.Text, Pos: l.pos, Args: l.toks[1:], Raw: l.raw})
			cur.Children = append(cur.Children, &nodes[len(nodes)-1])
		}
	}
	for i := len(stack) - 1; i > 0; i-- {
		n := stack[i]
		d.errorf(n.BlockPos, "missing '}': the block of %q opened here is never closed", n.Keyword)
	}
	return root
}

// isBrace reports whether a line's first token is a block's '{' or '}' (a quoted one
// is a value).
func isBrace(t Token) bool { return !t.Quoted && (t.Text == "{" || t.Text == "}") }
