;; guile-symbol.scm — when Guile 3.0 drops a symbol that only lists held by
;; a guardian reach from its symbol table, on either library (not run by
;; CTest; docs/boehm-compat.md, "Real programs"):
;;   guile-3.0 --no-auto-compile guile-symbol.scm
;; prints "eq: #f" then "eq: #t" on Debian's libgc and on cgc alike.
;;
;; Guile's symbol table is a weak set of short disappearing links
;; (GC_general_register_disappearing_link); a guardian is a no_order
;; finalizer on each guarded object. Both libraries clear a short link
;; whose object is unmarked before anything is marked for finalizers.
;; 1. The 100 lists are found unreachable by the same collection that
;;    decides the symbol's link: nothing else reaches the symbol, its link
;;    is cleared, and the 'zadropped read in the next form is a second
;;    symbol, although the first is still alive in the lists the guardian
;;    returns.
;; 2. A collection while the lists are being made queues the lists made so
;;    far; queued (and then returned to the guardian) they reach the symbol
;;    in every later collection, so its link stays.
;; With 10,000 lists and no (gc) in the loop, libgc collected 6-7 times
;; during the loop on its own ((gc-stats) 'gc-times; it collects after
;; about a third of the live heap is allocated, and its finalizer and link
;; records are heap allocation too), cgc not at all (its first goal, 2 MB,
;; is above what the loop allocates): case 2 on libgc, case 1 on cgc. That
;; was the "#t on libgc, #f on cgc" this file showed before; with 100 lists
;; libgc gives #f too. tests/compat/finalized_links.c checks both cases in
;; C on both libraries.
(define g (make-guardian))
(let loop ((i 0)) (when (< i 100) (g (list 'zadropped i)) (loop (+ i 1))))
(gc) (gc)
(define y (g))
(format #t "~s eq: ~a\n" y (eq? (car y) 'zadropped))
(define g2 (make-guardian))
(let loop ((i 0))
  (when (< i 10000)
    (g2 (list 'zbdropped i))
    (when (= (modulo i 1000) 999) (gc))
    (loop (+ i 1))))
(gc) (gc)
(define z (g2))
(format #t "~s eq: ~a\n" z (eq? (car z) 'zbdropped))
