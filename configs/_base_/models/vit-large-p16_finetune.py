# ViT-L/16 classifier for end-to-end fine-tuning of an mkd_mm pre-trained
# encoder, as dbot:main_finetune.py + models_vit.py (docs/transfer.md,
# section 3): global average pooling of the patch tokens followed by
# `ln2` (= timm's fresh `fc_norm`), the pre-trained final norm unused
# (`final_norm=False`), a linear head, label smoothing 0.1 and Mixup 0.8 /
# CutMix 1.0 batch augments. The backbone loads its weights strictly
# (`TransferVisionTransformer`); set the checkpoint with
# `--cfg-options model.backbone.init_cfg.checkpoint=PATH`.
model = dict(
    type='OfficialCompatClassifier',
    backbone=dict(
        type='TransferVisionTransformer',
        arch='large',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        out_type='avg_featmap',
        final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)]),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))
