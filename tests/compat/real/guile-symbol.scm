;; guile-symbol.scm — where Guile 3.0 on cgc's libgc.so.1 still differs from
;; Debian's libgc (not run by CTest; docs/boehm-compat.md, "Real programs"):
;;   guile-3.0 --no-auto-compile guile-symbol.scm
;; Debian's libgc prints "eq: #t" twice; cgc "eq: #t" then "eq: #f", every
;; run. A symbol a live list holds stays in Guile's symbol table (the first
;; case). A symbol that only lists held by a guardian (no_order finalizers)
;; reach is still alive and intact after the collections on cgc, but has
;; left the symbol table (a weak set of short disappearing links), so
;; reading 'zwdropped in the next form interns a second symbol. Guile's
;; manual (make-guardian) says an object a guardian can still return keeps
;; its weak links; on libgc that holds here. Without the
;; guardian both libraries drop the symbol alike. A C program of the same
;; shape (an object behind a short link, reachable only from no_order
;; finalizable objects, java finalization on, the link in unscanned memory)
;; has its link cleared on both, as libgc's documented order says (links
;; first, then marking from finalizable objects): how libgc keeps Guile's
;; link is not known yet. Also with string->symbol instead of a literal,
;; with a deep recursion and 200,000 allocations before the collections,
;; and with all 10,000 lists returned by libgc's guardian: libgc still #t.
(define junk #f)
(let loop ((i 0)) (when (< i 10000) (set! junk (list 'zqdropped i)) (loop (+ i 1))))
(define x junk)
(set! junk #f)
(gc) (gc)
(format #t "~s eq: ~a\n" x (eq? (car x) 'zqdropped))
(define g (make-guardian))
(let loop ((i 0)) (when (< i 10000) (g (list 'zwdropped i)) (loop (+ i 1))))
(gc) (gc)
(define y (g))
(format #t "~s eq: ~a\n" y (eq? (car y) 'zwdropped))
