# DMAE demo, baseline: the same tiny student as configs/demo/dmae_demo.py
# (same encoder, decoder, pixel loss, data, optimizer, schedule and number of
# steps), trained with plain MAE, i.e. without the teacher.
_base_ = './dmae_demo.py'

model = dict(
    _delete_=True,
    type='MAE',
    backbone={{_base_.student_backbone}},
    neck={{_base_.student_neck}},
    head={{_base_.student_head}})
