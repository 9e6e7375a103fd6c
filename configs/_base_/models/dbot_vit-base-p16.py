# dBOT ViT-B/16 student with a ViT-B/16 teacher (official defaults).
model = dict(
    type='DBOT',
    backbone=dict(
        type='MKDViT',
        arch='b',
        img_size=224,
        patch_size=16,
        mask_ratio=0.75,
        drop_path_rate=0.2),
    neck=dict(
        type='DBOTDecoder',
        num_patches=196,
        patch_size=16,
        embed_dim=768,
        decoder_embed_dim=512,
        decoder_depth=8,
        decoder_num_heads=16,
        mlp_ratio=4,
        predict_feature_dim=768,  # = teacher width
        keep_cls=True,
        drop_path_rate=0.2),
    head=dict(
        type='MIMHead',
        loss=dict(type='StandardizedSmoothL1Loss', beta=2.0, eps=1e-6)),
    # stage-1 teacher: a random 12-block ViT-B, copied from the student's
    # initial weights (official `--init_teacher_encoder_depth 12`)
    teacher=dict(
        type='TeacherViT',
        arch='b',
        depth=12,
        img_size=224,
        patch_size=16,
        final_norm=False),
    init_teacher_from_student=True,
    cls_in_loss=True,
    # frozen-teacher forward in bf16 where the hardware runs it natively
    teacher_precision='auto')
