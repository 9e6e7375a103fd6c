# DMAE ViT-B/16 <- ViT-L/16 aligned at two places, "middle + top" (paper
# Tab. 1: student layers 6 and 12 (1-based) -> 84.2%).
# [INFERRED] The paper does not list the teacher layers of this row; we pair
# the same relative depths: student indices 5, 11 <-> teacher 11, 23 (the
# 12th and 24th of ViT-L). The teacher therefore runs all 24 blocks (still
# without final norm and decoder). One projector (2-layer MLP) per pair; the
# two L1 terms are summed (official code) and logged as align_s5_t11 and
# align_s11_t23.
_base_ = './vitb_from_vitl.py'

model = dict(student_layers=[5, 11], teacher_layers=[11, 23])
