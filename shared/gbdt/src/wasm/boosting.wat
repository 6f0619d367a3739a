;; The hot loops of boosting as WebAssembly, on one shared memory imported as env.mem. Arrays are
;; passed as byte addresses in that memory (the byteOffset of a typed-array view of it).
;;
;; Each function mirrors a JavaScript kernel in ../kernels/ with the same floating-point
;; operations in the same order, so both give the same bits (test/wasm.kernels.test.ts checks it).
;; Memory accesses need no bounds checks: V8 guards 32-bit memories with virtual memory.
;;
;; Compiled by `npm run wasm:gen` (wabt) into boosting.wasm.generated.ts.
(module
  (import "env" "mem" (memory 1 65536 shared))

  ;; accumulateHistogram (histogram.kernel.ts): for each row rows[i], i in [start, end), add its
  ;; packed gradient to one cell per byte of its binned-row words [wordFrom, wordTo), of the last
  ;; word only its first lastBytes (1-4) bytes. Word j's four bytes go to the 256-cell slices at
  ;; hist + 8 * (1056 j + 264 q), q = 0..3 (HIST_SLICE = 264 doubles per slot in histogram.kernel.ts:
  ;; padded so that equal codes of different slots do not alias in the store buffer).
  (func (export "acc")
    (param $bins i32) (param $words i32) (param $packed i32) (param $rows i32)
    (param $start i32) (param $end i32) (param $hist i32) (param $wordFrom i32) (param $wordTo i32)
    (param $lastBytes i32)
    (local $i i32) (local $r i32) (local $w i32) (local $wEnd i32) (local $slice i32) (local $cell i32)
    (local $p f64)
    ;; The whole words are [wordFrom, wordTo); a partial last word comes after them.
    (if (i32.and
          (i32.lt_u (local.get $lastBytes) (i32.const 4))
          (i32.gt_u (local.get $wordTo) (local.get $wordFrom)))
      (then (local.set $wordTo (i32.sub (local.get $wordTo) (i32.const 1))))
      (else (local.set $lastBytes (i32.const 0))))
    (local.set $i (local.get $start))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $r (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $p (f64.load (i32.add (local.get $packed) (i32.shl (local.get $r) (i32.const 3)))))
        ;; The row's words [wordFrom, wordTo), and the histogram slice of the first.
        (local.set $w
          (i32.add
            (local.get $bins)
            (i32.shl
              (i32.add (local.tee $wEnd (i32.mul (local.get $r) (local.get $words))) (local.get $wordFrom))
              (i32.const 2))))
        (local.set $wEnd
          (i32.add (local.get $bins) (i32.shl (i32.add (local.get $wEnd) (local.get $wordTo)) (i32.const 2))))
        (local.set $slice (i32.add (local.get $hist) (i32.mul (local.get $wordFrom) (i32.const 8448))))
        (block $wordsDone
          (loop $word
            (br_if $wordsDone (i32.ge_u (local.get $w) (local.get $wEnd)))
            (f64.store offset=0
              (local.tee $cell
                (i32.add (i32.shl (i32.load8_u offset=0 (local.get $w)) (i32.const 3)) (local.get $slice)))
              (f64.add (f64.load offset=0 (local.get $cell)) (local.get $p)))
            (f64.store offset=2112
              (local.tee $cell
                (i32.add (i32.shl (i32.load8_u offset=1 (local.get $w)) (i32.const 3)) (local.get $slice)))
              (f64.add (f64.load offset=2112 (local.get $cell)) (local.get $p)))
            (f64.store offset=4224
              (local.tee $cell
                (i32.add (i32.shl (i32.load8_u offset=2 (local.get $w)) (i32.const 3)) (local.get $slice)))
              (f64.add (f64.load offset=4224 (local.get $cell)) (local.get $p)))
            (f64.store offset=6336
              (local.tee $cell
                (i32.add (i32.shl (i32.load8_u offset=3 (local.get $w)) (i32.const 3)) (local.get $slice)))
              (f64.add (f64.load offset=6336 (local.get $cell)) (local.get $p)))
            (local.set $w (i32.add (local.get $w) (i32.const 4)))
            (local.set $slice (i32.add (local.get $slice) (i32.const 8448)))
            (br $word)))
        ;; The partial last word (w and slice are at it now): its first lastBytes bytes, if any.
        (if (local.get $lastBytes)
          (then
            (f64.store offset=0
              (local.tee $cell
                (i32.add (i32.shl (i32.load8_u offset=0 (local.get $w)) (i32.const 3)) (local.get $slice)))
              (f64.add (f64.load offset=0 (local.get $cell)) (local.get $p)))
            (if (i32.gt_u (local.get $lastBytes) (i32.const 1))
              (then
                (f64.store offset=2112
                  (local.tee $cell
                    (i32.add (i32.shl (i32.load8_u offset=1 (local.get $w)) (i32.const 3)) (local.get $slice)))
                  (f64.add (f64.load offset=2112 (local.get $cell)) (local.get $p)))))
            (if (i32.gt_u (local.get $lastBytes) (i32.const 2))
              (then
                (f64.store offset=4224
                  (local.tee $cell
                    (i32.add (i32.shl (i32.load8_u offset=2 (local.get $w)) (i32.const 3)) (local.get $slice)))
                  (f64.add (f64.load offset=4224 (local.get $cell)) (local.get $p)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row))))

  ;; partitionRows (partition.kernel.ts): stable, branch-free partition of rows[start .. end) on
  ;; column[r] <= bin (column: the split feature's column-major bins). Every row is stored to both
  ;; sides and only its side's cursor moves. Returns the left count.
  (func (export "part")
    (param $column i32) (param $rows i32) (param $left i32) (param $right i32)
    (param $start i32) (param $end i32) (param $bin i32)
    (result i32)
    (local $at i32) (local $stop i32) (local $l i32) (local $rr i32) (local $r i32) (local $goesLeft i32)
    (local.set $at (i32.add (local.get $rows) (i32.shl (local.get $start) (i32.const 2))))
    (local.set $stop (i32.add (local.get $rows) (i32.shl (local.get $end) (i32.const 2))))
    (local.set $l (i32.add (local.get $left) (i32.shl (local.get $start) (i32.const 2))))
    (local.set $rr (i32.add (local.get $right) (i32.shl (local.get $start) (i32.const 2))))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $at) (local.get $stop)))
        (local.set $r (i32.load (local.get $at)))
        ;; 4 bytes when the row goes left, else 0.
        (local.set $goesLeft
          (i32.shl
            (i32.le_s (i32.load8_u (i32.add (local.get $column) (local.get $r))) (local.get $bin))
            (i32.const 2)))
        (i32.store (local.get $l) (local.get $r))
        (i32.store (local.get $rr) (local.get $r))
        (local.set $l (i32.add (local.get $l) (local.get $goesLeft)))
        (local.set $rr (i32.add (local.get $rr) (i32.sub (i32.const 4) (local.get $goesLeft))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $row)))
    (i32.shr_u
      (i32.sub (local.get $l) (i32.add (local.get $left) (i32.shl (local.get $start) (i32.const 2))))
      (i32.const 2)))

  ;; computeGradients (gradient.kernel.ts) in its common case: every row, no weights, the previous
  ;; tree's leaf value added to each margin first (fused). For rows r in [from, to): the margin
  ;; update, rows[r] = r, the exact gradient and hessian into gh, the quantised pair packed into
  ;; packed[r]. exp(-m) as in fast-math.ts (pow2Int, pow2Frac: its tables in this memory). Returns
  ;; the sum of the packed values.
  (func (export "grad")
    (param $margin i32) (param $labels i32) (param $rows i32) (param $from i32) (param $to i32)
    (param $leafOf i32) (param $leafValue i32) (param $gh i32) (param $packed i32)
    (param $pow2Int i32) (param $pow2Frac i32) (param $seed i32)
    (param $invLn2 f64) (param $ln2Hi f64) (param $ln2Lo f64)
    (param $invGScale f64) (param $invHScale f64) (param $shift f64)
    (result f64)
    (local $r i32) (local $biased i32) (local $z i32)
    (local $m f64) (local $x f64) (local $t f64) (local $k f64) (local $p f64) (local $g f64) (local $h f64)
    (local $v f64) (local $total f64) (local $e f64)
    (local $b i32) (local $b1 i32)
    (local $m2 v128) (local $x2 v128) (local $bi2 v128) (local $k2 v128) (local $t2 v128) (local $p2 v128)
    (local $g2 v128) (local $h2 v128) (local $z2 v128) (local $v2 v128)
    (local.set $total (f64.const 0))
    (local.set $r (local.get $from))
    ;; Two rows a step in f64x2 lanes: the same IEEE operations per row as the loop below (wasm
    ;; never fuses a multiply and an add), so the same bits; the table reads and the total stay
    ;; scalar, the total added in row order. The loop below takes the odd row left.
    (block $pairsDone
      (loop $pair
        (br_if $pairsDone (i32.ge_s (i32.add (local.get $r) (i32.const 1)) (local.get $to)))
        ;; m = margin[r .. r + 2) + leafValue[leafOf[...]]; stored back; rows[r] = r, rows[r + 1] = r + 1
        (local.set $m2
          (f64x2.add
            (v128.load (i32.add (local.get $margin) (i32.shl (local.get $r) (i32.const 3))))
            (f64x2.replace_lane 1
              (f64x2.splat
                (f64.load
                  (i32.add
                    (local.get $leafValue)
                    (i32.shl
                      (i32.load16_u (i32.add (local.get $leafOf) (i32.shl (local.get $r) (i32.const 1))))
                      (i32.const 3)))))
              (f64.load
                (i32.add
                  (local.get $leafValue)
                  (i32.shl
                    (i32.load16_u offset=2 (i32.add (local.get $leafOf) (i32.shl (local.get $r) (i32.const 1))))
                    (i32.const 3)))))))
        (v128.store (i32.add (local.get $margin) (i32.shl (local.get $r) (i32.const 3))) (local.get $m2))
        (i32.store (i32.add (local.get $rows) (i32.shl (local.get $r) (i32.const 2))) (local.get $r))
        (i32.store offset=4
          (i32.add (local.get $rows) (i32.shl (local.get $r) (i32.const 2)))
          (i32.add (local.get $r) (i32.const 1)))
        ;; x = m < -700 ? 700 : m > 700 ? -700 : -m
        (local.set $x2
          (v128.bitselect
            (v128.const f64x2 700 700)
            (v128.bitselect
              (v128.const f64x2 -700 -700)
              (f64x2.neg (local.get $m2))
              (f64x2.gt (local.get $m2) (v128.const f64x2 700 700)))
            (f64x2.lt (local.get $m2) (v128.const f64x2 -700 -700))))
        ;; biased (lanes 0, 1) = trunc_sat(x * invLn2 + 70400.5); k = biased - 70400; t = x - k ln2Hi - k ln2Lo
        (local.set $bi2
          (i32x4.trunc_sat_f64x2_s_zero
            (f64x2.add
              (f64x2.mul (local.get $x2) (f64x2.splat (local.get $invLn2)))
              (v128.const f64x2 70400.5 70400.5))))
        (local.set $k2 (f64x2.convert_low_i32x4_s (i32x4.sub (local.get $bi2) (v128.const i32x4 70400 70400 0 0))))
        (local.set $t2
          (f64x2.sub
            (f64x2.sub (local.get $x2) (f64x2.mul (local.get $k2) (f64x2.splat (local.get $ln2Hi))))
            (f64x2.mul (local.get $k2) (f64x2.splat (local.get $ln2Lo)))))
        ;; e = pow2Int[biased >> 6] * pow2Frac[biased & 63] * polynomial(t), as below
        (local.set $b (i32x4.extract_lane 0 (local.get $bi2)))
        (local.set $b1 (i32x4.extract_lane 1 (local.get $bi2)))
        (local.set $p2
          (f64x2.mul
            (f64x2.mul
              (f64x2.replace_lane 1
                (f64x2.splat
                  (f64.load
                    (i32.add (local.get $pow2Int) (i32.shl (i32.shr_s (local.get $b) (i32.const 6)) (i32.const 3)))))
                (f64.load
                  (i32.add (local.get $pow2Int) (i32.shl (i32.shr_s (local.get $b1) (i32.const 6)) (i32.const 3)))))
              (f64x2.replace_lane 1
                (f64x2.splat
                  (f64.load
                    (i32.add (local.get $pow2Frac) (i32.shl (i32.and (local.get $b) (i32.const 63)) (i32.const 3)))))
                (f64.load
                  (i32.add (local.get $pow2Frac) (i32.shl (i32.and (local.get $b1) (i32.const 63)) (i32.const 3))))))
            (f64x2.add (v128.const f64x2 1 1) (f64x2.mul (local.get $t2)
              (f64x2.add (v128.const f64x2 1 1) (f64x2.mul (local.get $t2)
                (f64x2.add (v128.const f64x2 0.5 0.5) (f64x2.mul (local.get $t2)
                  (f64x2.add (v128.const f64x2 0.16666666666666666 0.16666666666666666) (f64x2.mul (local.get $t2)
                    (f64x2.add (v128.const f64x2 0.041666666666666664 0.041666666666666664)
                      (f64x2.mul (local.get $t2)
                        (v128.const f64x2 0.008333333333333333 0.008333333333333333)))))))))))))
        ;; p = 1 / (1 + e); g = p - label; h = max(p (1 - p), 1e-16) as the JavaScript ternary
        (local.set $p2 (f64x2.div (v128.const f64x2 1 1) (f64x2.add (v128.const f64x2 1 1) (local.get $p2))))
        (local.set $g2
          (f64x2.sub
            (local.get $p2)
            (f64x2.replace_lane 1
              (f64x2.splat (f64.convert_i32_u (i32.load8_u (i32.add (local.get $labels) (local.get $r)))))
              (f64.convert_i32_u (i32.load8_u offset=1 (i32.add (local.get $labels) (local.get $r)))))))
        (local.set $h2 (f64x2.mul (local.get $p2) (f64x2.sub (v128.const f64x2 1 1) (local.get $p2))))
        (local.set $h2
          (v128.bitselect
            (local.get $h2)
            (v128.const f64x2 1e-16 1e-16)
            (f64x2.gt (local.get $h2) (v128.const f64x2 1e-16 1e-16))))
        ;; gh[2r ..] = g0, h0, g1, h1
        (v128.store offset=0
          (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $g2) (local.get $h2)))
        (v128.store offset=16
          (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4)))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $g2) (local.get $h2)))
        ;; z: each row's hash under the tree's seed (lanes 0, 1: rows r, r + 1)
        (local.set $z2
          (i32x4.mul
            (v128.xor
              (i32x4.replace_lane 1 (i32x4.splat (local.get $r)) (i32.add (local.get $r) (i32.const 1)))
              (i32x4.splat (local.get $seed)))
            (v128.const i32x4 0x9e3779b1 0x9e3779b1 0x9e3779b1 0x9e3779b1)))
        (local.set $z2
          (i32x4.mul
            (v128.xor (local.get $z2) (i32x4.shr_u (local.get $z2) (i32.const 16)))
            (v128.const i32x4 0x85ebca6b 0x85ebca6b 0x85ebca6b 0x85ebca6b)))
        (local.set $z2
          (i32x4.mul
            (v128.xor (local.get $z2) (i32x4.shr_u (local.get $z2) (i32.const 13)))
            (v128.const i32x4 0xc2b2ae35 0xc2b2ae35 0xc2b2ae35 0xc2b2ae35)))
        (local.set $z2 (v128.xor (local.get $z2) (i32x4.shr_u (local.get $z2) (i32.const 16))))
        ;; v = floor(g invGScale + (z & 0xffff) 2^-16) shift + floor(h invHScale + (z >>> 16) 2^-16)
        (local.set $v2
          (f64x2.add
            (f64x2.mul
              (f64x2.floor
                (f64x2.add
                  (f64x2.mul (local.get $g2) (f64x2.splat (local.get $invGScale)))
                  (f64x2.mul
                    (f64x2.convert_low_i32x4_s
                      (v128.and (local.get $z2) (v128.const i32x4 0xffff 0xffff 0xffff 0xffff)))
                    (v128.const f64x2 1.52587890625e-5 1.52587890625e-5))))
              (f64x2.splat (local.get $shift)))
            (f64x2.floor
              (f64x2.add
                (f64x2.mul (local.get $h2) (f64x2.splat (local.get $invHScale)))
                (f64x2.mul
                  (f64x2.convert_low_i32x4_u (i32x4.shr_u (local.get $z2) (i32.const 16)))
                  (v128.const f64x2 1.52587890625e-5 1.52587890625e-5))))))
        (v128.store (i32.add (local.get $packed) (i32.shl (local.get $r) (i32.const 3))) (local.get $v2))
        (local.set $total (f64.add (local.get $total) (f64x2.extract_lane 0 (local.get $v2))))
        (local.set $total (f64.add (local.get $total) (f64x2.extract_lane 1 (local.get $v2))))
        (local.set $r (i32.add (local.get $r) (i32.const 2)))
        (br $pair)))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $r) (local.get $to)))
        ;; m = margin[r] + leafValue[leafOf[r]]; margin[r] = m; rows[r] = r
        (f64.store
          (i32.add (local.get $margin) (i32.shl (local.get $r) (i32.const 3)))
          (local.tee $m
            (f64.add
              (f64.load (i32.add (local.get $margin) (i32.shl (local.get $r) (i32.const 3))))
              (f64.load
                (i32.add
                  (local.get $leafValue)
                  (i32.shl
                    (i32.load16_u (i32.add (local.get $leafOf) (i32.shl (local.get $r) (i32.const 1))))
                    (i32.const 3)))))))
        (i32.store (i32.add (local.get $rows) (i32.shl (local.get $r) (i32.const 2))) (local.get $r))
        ;; x = m < -700 ? 700 : m > 700 ? -700 : -m
        (local.set $x
          (select
            (f64.const 700)
            (select (f64.const -700) (f64.neg (local.get $m)) (f64.gt (local.get $m) (f64.const 700)))
            (f64.lt (local.get $m) (f64.const -700))))
        ;; biased = (x * invLn2 + 70400.5) | 0; k = biased - 70400; t = x - k * ln2Hi - k * ln2Lo
        (local.set $biased
          (i32.trunc_sat_f64_s (f64.add (f64.mul (local.get $x) (local.get $invLn2)) (f64.const 70400.5))))
        (local.set $k (f64.convert_i32_s (i32.sub (local.get $biased) (i32.const 70400))))
        (local.set $t
          (f64.sub
            (f64.sub (local.get $x) (f64.mul (local.get $k) (local.get $ln2Hi)))
            (f64.mul (local.get $k) (local.get $ln2Lo))))
        ;; e = pow2Int[biased >> 6] * pow2Frac[biased & 63] * (1 + t (1 + t (1/2 + t (1/6 + t (1/24 + t / 120)))))
        (local.set $e
          (f64.mul
            (f64.mul
              (f64.load
                (i32.add (local.get $pow2Int) (i32.shl (i32.shr_s (local.get $biased) (i32.const 6)) (i32.const 3))))
              (f64.load
                (i32.add (local.get $pow2Frac) (i32.shl (i32.and (local.get $biased) (i32.const 63)) (i32.const 3)))))
            (f64.add (f64.const 1) (f64.mul (local.get $t)
              (f64.add (f64.const 1) (f64.mul (local.get $t)
                (f64.add (f64.const 0.5) (f64.mul (local.get $t)
                  (f64.add (f64.const 0.16666666666666666) (f64.mul (local.get $t)
                    (f64.add (f64.const 0.041666666666666664)
                      (f64.mul (local.get $t) (f64.const 0.008333333333333333)))))))))))))
        ;; p = 1 / (1 + e); g = p - label; h = max(p (1 - p), 1e-16) as the JavaScript ternary
        (local.set $p (f64.div (f64.const 1) (f64.add (f64.const 1) (local.get $e))))
        (local.set $g
          (f64.sub (local.get $p) (f64.convert_i32_u (i32.load8_u (i32.add (local.get $labels) (local.get $r))))))
        (local.set $h
          (select
            (local.tee $h (f64.mul (local.get $p) (f64.sub (f64.const 1) (local.get $p))))
            (f64.const 1e-16)
            (f64.gt (local.get $h) (f64.const 1e-16))))
        (f64.store offset=0 (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4))) (local.get $g))
        (f64.store offset=8 (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4))) (local.get $h))
        ;; z: the row's hash under the tree's seed, for stochastic rounding
        (local.set $z (i32.mul (i32.xor (local.get $r) (local.get $seed)) (i32.const 0x9e3779b1)))
        (local.set $z
          (i32.mul (i32.xor (local.get $z) (i32.shr_u (local.get $z) (i32.const 16))) (i32.const 0x85ebca6b)))
        (local.set $z
          (i32.mul (i32.xor (local.get $z) (i32.shr_u (local.get $z) (i32.const 13))) (i32.const 0xc2b2ae35)))
        (local.set $z (i32.xor (local.get $z) (i32.shr_u (local.get $z) (i32.const 16))))
        ;; v = floor(g invGScale + (z & 0xffff) 2^-16) shift + floor(h invHScale + (z >>> 16) 2^-16)
        (local.set $v
          (f64.add
            (f64.mul
              (f64.floor
                (f64.add
                  (f64.mul (local.get $g) (local.get $invGScale))
                  (f64.mul
                    (f64.convert_i32_s (i32.and (local.get $z) (i32.const 0xffff)))
                    (f64.const 1.52587890625e-5))))
              (local.get $shift))
            (f64.floor
              (f64.add
                (f64.mul (local.get $h) (local.get $invHScale))
                (f64.mul
                  (f64.convert_i32_u (i32.shr_u (local.get $z) (i32.const 16)))
                  (f64.const 1.52587890625e-5))))))
        (f64.store (i32.add (local.get $packed) (i32.shl (local.get $r) (i32.const 3))) (local.get $v))
        (local.set $total (f64.add (local.get $total) (local.get $v)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row)))
    (local.get $total))

  ;; splitIntoLeaves (partition.kernel.ts): the last split of a branch. Each row of
  ;; rows[start .. end) gets its leaf id in leafOf (leftId when column[r] <= bin, else rightId);
  ;; the exact gradient and hessian sums of both sides, each row's multiplied by 1 or 0 and added
  ;; in row order, go to out as [GL, HL, GR, HR].
  (func (export "leaves")
    (param $column i32) (param $rows i32) (param $start i32) (param $end i32) (param $bin i32)
    (param $leftId i32) (param $rightId i32) (param $leafOf i32) (param $gh i32) (param $out i32)
    (local $at i32) (local $stop i32) (local $r i32) (local $goesLeft i32)
    (local $left f64) (local $right f64) (local $g f64) (local $h f64)
    (local $lg f64) (local $lh f64) (local $rg f64) (local $rh f64)
    (local.set $lg (f64.const 0))
    (local.set $lh (f64.const 0))
    (local.set $rg (f64.const 0))
    (local.set $rh (f64.const 0))
    (local.set $at (i32.add (local.get $rows) (i32.shl (local.get $start) (i32.const 2))))
    (local.set $stop (i32.add (local.get $rows) (i32.shl (local.get $end) (i32.const 2))))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $at) (local.get $stop)))
        (local.set $r (i32.load (local.get $at)))
        (local.set $goesLeft
          (i32.le_s (i32.load8_u (i32.add (local.get $column) (local.get $r))) (local.get $bin)))
        (i32.store16
          (i32.add (local.get $leafOf) (i32.shl (local.get $r) (i32.const 1)))
          (select (local.get $leftId) (local.get $rightId) (local.get $goesLeft)))
        (local.set $left (f64.convert_i32_s (local.get $goesLeft)))
        (local.set $right (f64.sub (f64.const 1) (local.get $left)))
        (local.set $g (f64.load offset=0 (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4)))))
        (local.set $h (f64.load offset=8 (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4)))))
        (local.set $lg (f64.add (local.get $lg) (f64.mul (local.get $g) (local.get $left))))
        (local.set $lh (f64.add (local.get $lh) (f64.mul (local.get $h) (local.get $left))))
        (local.set $rg (f64.add (local.get $rg) (f64.mul (local.get $g) (local.get $right))))
        (local.set $rh (f64.add (local.get $rh) (f64.mul (local.get $h) (local.get $right))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $row)))
    (f64.store offset=0 (local.get $out) (local.get $lg))
    (f64.store offset=8 (local.get $out) (local.get $lh))
    (f64.store offset=16 (local.get $out) (local.get $rg))
    (f64.store offset=24 (local.get $out) (local.get $rh)))

  ;; closeLeaf (partition.kernel.ts): a leaf closed before the last level. Its rows
  ;; rows[start .. end) get leaf id `id`; their exact gradient and hessian sums, in row order, go
  ;; to out as [G, H].
  (func (export "close")
    (param $rows i32) (param $start i32) (param $end i32) (param $id i32) (param $leafOf i32)
    (param $gh i32) (param $out i32)
    (local $at i32) (local $stop i32) (local $r i32)
    (local $g f64) (local $h f64)
    (local.set $g (f64.const 0))
    (local.set $h (f64.const 0))
    (local.set $at (i32.add (local.get $rows) (i32.shl (local.get $start) (i32.const 2))))
    (local.set $stop (i32.add (local.get $rows) (i32.shl (local.get $end) (i32.const 2))))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $at) (local.get $stop)))
        (local.set $r (i32.load (local.get $at)))
        (i32.store16 (i32.add (local.get $leafOf) (i32.shl (local.get $r) (i32.const 1))) (local.get $id))
        (local.set $g
          (f64.add (local.get $g) (f64.load offset=0 (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4))))))
        (local.set $h
          (f64.add (local.get $h) (f64.load offset=8 (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4))))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $row)))
    (f64.store offset=0 (local.get $out) (local.get $g))
    (f64.store offset=8 (local.get $out) (local.get $h)))

  ;; unpackHistograms (histogram.kernel.ts), one feature: the slot's joint histogram at `src`
  ;; (`span` cells) summed into the feature's `nb` bins at `dst`. The codes in order are runs of `m`
  ;; cells, one run per bin in turn (the feature's digit), so one pass in address order. With
  ;; m = 1 each cell adds to its bin (nb independent sums); otherwise each run is summed as two
  ;; f64x2 accumulators over 4 cells a step, then a pair and an odd cell, and added to its bin.
  ;; Cells hold exact integers, so the sums are exact in any order: the JavaScript loop's bits.
  (func (export "unpack") (param $src i32) (param $dst i32) (param $nb i32) (param $m i32) (param $span i32)
    (local $end i32) (local $d i32) (local $dEnd i32) (local $e i32) (local $s f64) (local $v v128) (local $w v128)
    (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $nb) (i32.const 3)))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $span) (i32.const 3))))
    (local.set $dEnd (i32.add (local.get $dst) (i32.shl (local.get $nb) (i32.const 3))))
    (if (i32.eq (local.get $m) (i32.const 1))
      (then
        (block $done1
          (loop $block1
            (br_if $done1 (i32.ge_u (local.get $src) (local.get $end)))
            (local.set $d (local.get $dst))
            (block $binsDone1
              (loop $bin1
                (br_if $binsDone1 (i32.ge_u (local.get $d) (local.get $dEnd)))
                (f64.store (local.get $d) (f64.add (f64.load (local.get $d)) (f64.load (local.get $src))))
                (local.set $src (i32.add (local.get $src) (i32.const 8)))
                (local.set $d (i32.add (local.get $d) (i32.const 8)))
                (br $bin1)))
            (br $block1)))
        (return)))
    (block $done
      (loop $block
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $d (local.get $dst))
        (block $binsDone
          (loop $bin
            (br_if $binsDone (i32.ge_u (local.get $d) (local.get $dEnd)))
            (local.set $e (i32.add (local.get $src) (i32.shl (local.get $m) (i32.const 3))))
            (local.set $s (f64.const 0))
            (if (i32.and (local.get $m) (i32.const 1))
              (then
                (local.set $s (f64.load (local.get $src)))
                (local.set $src (i32.add (local.get $src) (i32.const 8)))))
            (local.set $v (v128.const i64x2 0 0))
            (local.set $w (v128.const i64x2 0 0))
            (block $quadsDone
              (loop $quad
                (br_if $quadsDone (i32.gt_u (i32.add (local.get $src) (i32.const 32)) (local.get $e)))
                (local.set $v (f64x2.add (local.get $v) (v128.load (local.get $src))))
                (local.set $w (f64x2.add (local.get $w) (v128.load offset=16 (local.get $src))))
                (local.set $src (i32.add (local.get $src) (i32.const 32)))
                (br $quad)))
            (if (i32.lt_u (local.get $src) (local.get $e))
              (then
                (local.set $v (f64x2.add (local.get $v) (v128.load (local.get $src))))
                (local.set $src (i32.add (local.get $src) (i32.const 16)))))
            (local.set $v (f64x2.add (local.get $v) (local.get $w)))
            (f64.store
              (local.get $d)
              (f64.add
                (f64.load (local.get $d))
                (f64.add
                  (local.get $s)
                  (f64.add (f64x2.extract_lane 0 (local.get $v)) (f64x2.extract_lane 1 (local.get $v))))))
            (local.set $d (i32.add (local.get $d) (i32.const 8)))
            (br $bin)))
        (br $block))))

  ;; Histogram upkeep (histogram.kernel.ts): `zero` clears `bytes` bytes at `at`; `sub` is the
  ;; subtraction trick, parent -= child over `bytes` bytes (a multiple of 16), two cells at a time;
  ;; `add` sums a lane's partial histogram into the node's, dst += src, alike. Cells hold exact
  ;; integers, so the sums and differences are exact.
  (func (export "zero") (param $at i32) (param $bytes i32)
    (memory.fill (local.get $at) (i32.const 0) (local.get $bytes)))

  (func (export "sub") (param $parent i32) (param $child i32) (param $bytes i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $parent) (local.get $bytes)))
    (block $done
      (loop $cells
        (br_if $done (i32.ge_u (local.get $parent) (local.get $end)))
        (v128.store
          (local.get $parent)
          (f64x2.sub (v128.load (local.get $parent)) (v128.load (local.get $child))))
        (local.set $parent (i32.add (local.get $parent) (i32.const 16)))
        (local.set $child (i32.add (local.get $child) (i32.const 16)))
        (br $cells))))

  (func (export "add") (param $dst i32) (param $src i32) (param $bytes i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (local.get $bytes)))
    (block $done
      (loop $cells
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (v128.store
          (local.get $dst)
          (f64x2.add (v128.load (local.get $dst)) (v128.load (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $cells))))

  ;; sortFloat64 (binning.kernel.ts): ascending LSD radix sort of the n doubles at $col by their
  ;; IEEE-754 bits, into $a or $b (n doubles each); returns the address of the one holding the
  ;; result. $counts: 2048 u32 of scratch. Each double (-0 as +0) becomes an unsigned key of the
  ;; same order (negatives: every bit flipped; others: the sign bit set); a pass whose byte is equal
  ;; in every key is skipped. A sort gives the same bits in any implementation (equal keys are equal
  ;; doubles), so this matches the JavaScript kernel bit for bit.
  (func (export "sort")
    (param $col i32) (param $n i32) (param $a i32) (param $b i32) (param $counts i32) (result i32)
    (local $i i32) (local $k i64) (local $src i32) (local $dst i32) (local $t i32)
    (local $pass i32) (local $base i32) (local $d i32) (local $c i32) (local $sum i32)
    (local $trivial i32) (local $shift i64) (local $at i32)
    (memory.fill (local.get $counts) (i32.const 0) (i32.const 8192))
    (local.set $i (i32.const 0))
    (block $done
      (loop $keys
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.shl (local.get $i) (i32.const 3)))
        ;; -0 as +0: a zero (of either sign) is the key of +0.
        (local.set $k
          (select
            (i64.const 0)
            (i64.reinterpret_f64 (f64.load (i32.add (local.get $col) (local.get $at))))
            (f64.eq (f64.load (i32.add (local.get $col) (local.get $at))) (f64.const 0))))
        (local.set $k
          (select
            (i64.xor (local.get $k) (i64.const -1))
            (i64.or (local.get $k) (i64.const 0x8000000000000000))
            (i64.lt_s (local.get $k) (i64.const 0))))
        (i64.store (i32.add (local.get $a) (local.get $at)) (local.get $k))
        ;; counts[256 p + byte p of the key]++ for p = 0..7.
        (local.set $pass (i32.const 0))
        (loop $bytes
          (local.set $t
            (i32.add
              (local.get $counts)
              (i32.shl
                (i32.add
                  (i32.shl (local.get $pass) (i32.const 8))
                  (i32.wrap_i64
                    (i64.and
                      (i64.shr_u (local.get $k) (i64.extend_i32_u (i32.shl (local.get $pass) (i32.const 3))))
                      (i64.const 255))))
                (i32.const 2))))
          (i32.store (local.get $t) (i32.add (i32.load (local.get $t)) (i32.const 1)))
          (br_if $bytes (i32.lt_u (local.tee $pass (i32.add (local.get $pass) (i32.const 1))) (i32.const 8))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $keys)))
    (local.set $src (local.get $a))
    (local.set $dst (local.get $b))
    (local.set $pass (i32.const 0))
    (loop $passes
      ;; Exclusive prefix sums of this pass's counts; trivial when one byte value holds every key.
      (local.set $base (i32.add (local.get $counts) (i32.shl (local.get $pass) (i32.const 10))))
      (local.set $trivial (i32.const 0))
      (local.set $sum (i32.const 0))
      (local.set $d (i32.const 0))
      (loop $prefix
        (local.set $t (i32.add (local.get $base) (i32.shl (local.get $d) (i32.const 2))))
        (local.set $c (i32.load (local.get $t)))
        (if (i32.eq (local.get $c) (local.get $n)) (then (local.set $trivial (i32.const 1))))
        (i32.store (local.get $t) (local.get $sum))
        (local.set $sum (i32.add (local.get $sum) (local.get $c)))
        (br_if $prefix (i32.lt_u (local.tee $d (i32.add (local.get $d) (i32.const 1))) (i32.const 256))))
      (if (i32.eqz (local.get $trivial))
        (then
          (local.set $shift (i64.extend_i32_u (i32.shl (local.get $pass) (i32.const 3))))
          (local.set $i (i32.const 0))
          (block $scattered
            (loop $scatter
              (br_if $scattered (i32.ge_u (local.get $i) (local.get $n)))
              (local.set $k (i64.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 3)))))
              (local.set $t
                (i32.add
                  (local.get $base)
                  (i32.shl
                    (i32.wrap_i64 (i64.and (i64.shr_u (local.get $k) (local.get $shift)) (i64.const 255)))
                    (i32.const 2))))
              (local.set $c (i32.load (local.get $t)))
              (i32.store (local.get $t) (i32.add (local.get $c) (i32.const 1)))
              (i64.store (i32.add (local.get $dst) (i32.shl (local.get $c) (i32.const 3))) (local.get $k))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $scatter)))
          (local.set $t (local.get $src))
          (local.set $src (local.get $dst))
          (local.set $dst (local.get $t))))
      (br_if $passes (i32.lt_u (local.tee $pass (i32.add (local.get $pass) (i32.const 1))) (i32.const 8))))
    ;; Keys back to doubles.
    (local.set $i (i32.const 0))
    (block $back
      (loop $unkey
        (br_if $back (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $k (i64.load (local.get $at)))
        (i64.store
          (local.get $at)
          (select
            (i64.and (local.get $k) (i64.const 0x7fffffffffffffff))
            (i64.xor (local.get $k) (i64.const -1))
            (i64.lt_s (local.get $k) (i64.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $unkey)))
    (local.get $src))

  ;; fillBins (binning.kernel.ts): the bin of each of the n doubles at $col (the number of cuts
  ;; strictly below it) as a byte at $out. $cuts: 256 doubles, the cuts padded with +Infinity;
  ;; $half: the largest power of two <= the number of cuts (>= 1). A branch-free binary search:
  ;; log2(2 $half) steps, each adding $step when the cut before lo + $step lies below the value.
  (func (export "fill")
    (param $col i32) (param $n i32) (param $cuts i32) (param $half i32) (param $out i32)
    (local $i i32) (local $v f64) (local $lo i32) (local $step i32)
    (local.set $i (i32.const 0))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $v (f64.load (i32.add (local.get $col) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $lo (i32.const 0))
        (local.set $step (local.get $half))
        (loop $search
          (local.set $lo
            (i32.add
              (local.get $lo)
              (select
                (local.get $step)
                (i32.const 0)
                (f64.lt
                  (f64.load
                    (i32.add
                      (local.get $cuts)
                      (i32.shl (i32.sub (i32.add (local.get $lo) (local.get $step)) (i32.const 1)) (i32.const 3))))
                  (local.get $v)))))
          (br_if $search (local.tee $step (i32.shr_u (local.get $step) (i32.const 1)))))
        (i32.store8 (i32.add (local.get $out) (local.get $i)) (local.get $lo))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row))))

  ;; transposeBins (binning.kernel.ts), one feature: for rows [from, to), byte $bins + r * $stride
  ;; (the feature's byte of row r) += $m * the row's bin at $col + r (mod 256, as a Uint8Array).
  (func (export "tcol")
    (param $col i32) (param $bins i32) (param $stride i32) (param $from i32) (param $to i32) (param $m i32)
    (local $at i32)
    (local.set $at (i32.add (local.get $bins) (i32.mul (local.get $from) (local.get $stride))))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $from) (local.get $to)))
        (i32.store8
          (local.get $at)
          (i32.add
            (i32.load8_u (local.get $at))
            (i32.mul (i32.load8_u (i32.add (local.get $col) (local.get $from))) (local.get $m))))
        (local.set $at (i32.add (local.get $at) (local.get $stride)))
        (local.set $from (i32.add (local.get $from) (i32.const 1)))
        (br $row))))

  ;; computeCuts (binning.kernel.ts) of the n ascending doubles at $sorted into $out (at most
  ;; maxBins - 1 doubles); returns their number. Its three passes alike: the number of distinct
  ;; values; all but the last one or two of them; or the equal-frequency cuts, whose target ranks
  ;; are the same f64 operations as the JavaScript (k * range and begin are exact integers).
  (func $runEnd (param $sorted i32) (param $n i32) (param $from i32) (result i32)
    (local $end i32) (local $v f64)
    (local.set $v (f64.load (i32.add (local.get $sorted) (i32.shl (local.get $from) (i32.const 3)))))
    (local.set $end (i32.add (local.get $from) (i32.const 1)))
    (block $done
      (loop $run
        (br_if $done (i32.ge_s (local.get $end) (local.get $n)))
        (br_if $done
          (f64.ne (f64.load (i32.add (local.get $sorted) (i32.shl (local.get $end) (i32.const 3)))) (local.get $v)))
        (local.set $end (i32.add (local.get $end) (i32.const 1)))
        (br $run)))
    (local.get $end))

  (func (export "cuts") (param $sorted i32) (param $n i32) (param $maxBins i32) (param $out i32) (result i32)
    (local $i i32) (local $nDistinct i32) (local $count i32) (local $nCuts i32) (local $prev f64) (local $v f64)
    (local $lastStart i32) (local $last f64) (local $begin i32) (local $range i32)
    (local $s i32) (local $e i32) (local $ne i32) (local $picked i32) (local $k i32) (local $dx2 f64)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
    ;; countDistinct
    (local.set $nDistinct (i32.const 1))
    (local.set $prev (f64.load (local.get $sorted)))
    (local.set $i (i32.const 1))
    (block $counted
      (loop $count
        (br_if $counted (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $v (f64.load (i32.add (local.get $sorted) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $nDistinct (i32.add (local.get $nDistinct) (f64.ne (local.get $v) (local.get $prev))))
        (local.set $prev (local.get $v))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $count)))
    (if (i32.le_s (local.get $nDistinct) (i32.add (local.get $maxBins) (i32.const 1)))
      (then
        ;; distinctValues: the first `count` distinct values
        (local.set $count
          (i32.sub
            (local.get $nDistinct)
            (select (i32.const 1) (i32.const 2) (i32.le_s (local.get $nDistinct) (local.get $maxBins)))))
        (local.set $i (i32.const 1))
        (block $listed
          (loop $list
            (br_if $listed (i32.ge_s (local.get $i) (local.get $n)))
            (br_if $listed (i32.ge_s (local.get $nCuts) (local.get $count)))
            (local.set $prev (f64.load (i32.add (local.get $sorted) (i32.shl (i32.sub (local.get $i) (i32.const 1)) (i32.const 3)))))
            (if
              (f64.ne (f64.load (i32.add (local.get $sorted) (i32.shl (local.get $i) (i32.const 3)))) (local.get $prev))
              (then
                (f64.store (i32.add (local.get $out) (i32.shl (local.get $nCuts) (i32.const 3))) (local.get $prev))
                (local.set $nCuts (i32.add (local.get $nCuts) (i32.const 1)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $list)))
        (return (local.get $nCuts))))
    ;; quantileCuts
    (local.set $lastStart (i32.sub (local.get $n) (i32.const 1)))
    (local.set $last (f64.load (i32.add (local.get $sorted) (i32.shl (local.get $lastStart) (i32.const 3)))))
    (block $found
      (loop $back
        (br_if $found (i32.le_s (local.get $lastStart) (i32.const 0)))
        (br_if $found
          (f64.ne
            (f64.load (i32.add (local.get $sorted) (i32.shl (i32.sub (local.get $lastStart) (i32.const 1)) (i32.const 3))))
            (local.get $last)))
        (local.set $lastStart (i32.sub (local.get $lastStart) (i32.const 1)))
        (br $back)))
    (local.set $begin (call $runEnd (local.get $sorted) (local.get $n) (i32.const 0)))
    (local.set $range (i32.sub (local.get $lastStart) (local.get $begin)))
    (local.set $s (local.get $begin))
    (local.set $e (call $runEnd (local.get $sorted) (local.get $n) (local.get $s)))
    (local.set $ne
      (if (result i32) (i32.lt_s (local.get $e) (local.get $n))
        (then (call $runEnd (local.get $sorted) (local.get $n) (local.get $e)))
        (else (local.get $n))))
    (local.set $k (i32.const 1))
    (block $ranksDone
      (loop $rank
        (br_if $ranksDone (i32.ge_s (local.get $k) (local.get $maxBins)))
        ;; dx2 = 2 ((k range) / maxBins + begin)
        (local.set $dx2
          (f64.mul
            (f64.const 2)
            (f64.add
              (f64.div
                (f64.mul (f64.convert_i32_s (local.get $k)) (f64.convert_i32_s (local.get $range)))
                (f64.convert_i32_s (local.get $maxBins)))
              (f64.convert_i32_s (local.get $begin)))))
        (block $advanced
          (loop $advance
            (br_if $advanced (i32.eq (local.get $s) (local.get $lastStart)))
            (br_if $advanced
              (f64.lt (local.get $dx2) (f64.convert_i32_s (i32.add (local.get $ne) (local.get $e)))))
            (local.set $s (local.get $e))
            (local.set $e (local.get $ne))
            (local.set $ne
              (if (result i32) (i32.lt_s (local.get $e) (local.get $n))
                (then (call $runEnd (local.get $sorted) (local.get $n) (local.get $e)))
                (else (local.get $n))))
            (br $advance)))
        (br_if $ranksDone (i32.eq (local.get $s) (local.get $lastStart)))
        (if (f64.lt (local.get $dx2) (f64.convert_i32_s (i32.shl (local.get $e) (i32.const 1))))
          (then
            (if (i32.ne (local.get $s) (local.get $picked))
              (then
                (local.set $picked (local.get $s))
                (f64.store
                  (i32.add (local.get $out) (i32.shl (local.get $nCuts) (i32.const 3)))
                  (f64.load (i32.add (local.get $sorted) (i32.shl (i32.sub (local.get $s) (i32.const 1)) (i32.const 3)))))
                (local.set $nCuts (i32.add (local.get $nCuts) (i32.const 1))))))
          (else
            (if (i32.ne (local.get $e) (local.get $picked))
              (then
                (local.set $picked (local.get $e))
                (f64.store
                  (i32.add (local.get $out) (i32.shl (local.get $nCuts) (i32.const 3)))
                  (f64.load (i32.add (local.get $sorted) (i32.shl (i32.sub (local.get $e) (i32.const 1)) (i32.const 3)))))
                (local.set $nCuts (i32.add (local.get $nCuts) (i32.const 1)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $rank)))
    (if
      (i32.and
        (i32.ne (local.get $picked) (local.get $lastStart))
        (i32.lt_s (local.get $nCuts) (i32.sub (local.get $maxBins) (i32.const 1))))
      (then
        (f64.store
          (i32.add (local.get $out) (i32.shl (local.get $nCuts) (i32.const 3)))
          (f64.load (i32.add (local.get $sorted) (i32.shl (i32.sub (local.get $lastStart) (i32.const 1)) (i32.const 3)))))
        (local.set $nCuts (i32.add (local.get $nCuts) (i32.const 1)))))
    (local.get $nCuts))

  ;; distinctCuts (binning.kernel.ts), its pass over the rows: the distinct values of the n doubles
  ;; at $col (-0 as +0) as their bits into the 1024-slot hash table at $table (empty slots: the
  ;; bits of NaN, which no finite value has); returns their number, or -1 once a value would be
  ;; the (maxBins + 1)-th. Which distinct values there are does not depend on the hash, so the
  ;; caller's sorted cuts are those of the JavaScript kernel.
  (func (export "distinct") (param $col i32) (param $n i32) (param $maxBins i32) (param $table i32) (result i32)
    (local $i i32) (local $k i64) (local $last i64) (local $h i32) (local $slot i32) (local $key i64)
    (local $count i32) (local $v f64)
    (local.set $i (i32.const 0))
    (loop $empty
      (i64.store (i32.add (local.get $table) (i32.shl (local.get $i) (i32.const 3))) (i64.const 0x7ff8000000000000))
      (br_if $empty (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 1024))))
    (local.set $last (i64.const 0x7ff8000000000000))
    (local.set $i (i32.const 0))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $v (f64.load (i32.add (local.get $col) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $k (select (i64.const 0) (i64.reinterpret_f64 (local.get $v)) (f64.eq (local.get $v) (f64.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $row (i64.eq (local.get $k) (local.get $last)))
        (local.set $last (local.get $k))
        ;; The top 10 bits of the key times 2^64 / golden ratio, then linear probing.
        (local.set $h (i32.wrap_i64 (i64.shr_u (i64.mul (local.get $k) (i64.const 0x9e3779b97f4a7c15)) (i64.const 54))))
        (block $placed
          (loop $probe
            (local.set $slot (i32.add (local.get $table) (i32.shl (local.get $h) (i32.const 3))))
            (local.set $key (i64.load (local.get $slot)))
            (br_if $placed (i64.eq (local.get $key) (local.get $k)))
            (if (i64.eq (local.get $key) (i64.const 0x7ff8000000000000))
              (then
                (if (i32.eq (local.get $count) (local.get $maxBins)) (then (return (i32.const -1))))
                (i64.store (local.get $slot) (local.get $k))
                (local.set $count (i32.add (local.get $count) (i32.const 1)))
                (br $placed)))
            (local.set $h (i32.and (i32.add (local.get $h) (i32.const 1)) (i32.const 1023)))
            (br $probe)))
        (br $row)))
    (local.get $count))
)
